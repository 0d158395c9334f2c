"""A customer's analytics and known customers: computed from their stored bookings (pure),
and stored again after any change to those bookings."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from bson import Decimal128

from contracts import Tenant
from domain.documents import (
    BookingAnalytics,
    BookingForAnalytics,
    KnownCustomerDocument,
    MoneyDocument,
)
from domain.store.database import Store


def compute(
    bookings: Iterable[BookingForAnalytics], counted_statuses: set[str]
) -> BookingAnalytics:
    """``total_bookings``, ``total_spent`` and ``lifetime_value`` per currency (exact), and
    ``last_booking_at``, over the bookings whose status counts."""
    spent: dict[str, Decimal] = defaultdict(Decimal)
    total = 0
    last: datetime | None = None
    for booking in bookings:
        if booking["status"] not in counted_statuses:
            continue
        total += 1
        amount = booking["grand_total"]
        spent[booking["currency"]] += (
            amount.to_decimal() if isinstance(amount, Decimal128) else Decimal(str(amount))
        )
        created: datetime = booking["created_at"]
        last = created if last is None or created > last else last
    rows: list[MoneyDocument] = [
        {"currency": currency, "amount": Decimal128(amount)}
        for currency, amount in sorted(spent.items())
    ]
    return {
        "total_bookings": total,
        "total_spent": rows,
        "lifetime_value": rows,
        "last_booking_at": last,
    }


def known_customers(
    bookings: Iterable[BookingForAnalytics], customer_id: str
) -> list[KnownCustomerDocument]:
    """Everyone the customer booked for, once each, in the order first booked; people without
    a profile are told apart by name."""
    people: dict[str, KnownCustomerDocument] = {}
    ordered = sorted(bookings, key=lambda booking: (booking["created_at"], booking["_id"]))
    for booking in ordered:
        for guest in booking.get("guests") or []:
            if guest.get("customer_id") == customer_id:
                continue
            key = guest.get("customer_id") or f"name:{(guest.get('name') or '').casefold()}"
            people.setdefault(
                key,
                {
                    "customer_id": guest.get("customer_id"),
                    "name": guest.get("name"),
                    "email": guest.get("email"),
                    "phone": guest.get("phone"),
                },
            )
    return list(people.values())


async def refresh(store: Store, tenant: Tenant, customer_id: str) -> None:
    """Recompute the customer's analytics and known customers from the stored bookings.

    The bookings revision is counted before the bookings are read, so of two refreshes racing
    the one that read later is the one stored.
    """
    revision = await store.customers.next_bookings_revision(customer_id)
    bookings = await store.bookings.of_customer(tenant.id, customer_id)
    counted = {str(status) for status in tenant.counted_statuses}
    await store.customers.set_analytics(
        customer_id,
        revision,
        compute(bookings, counted),
        known_customers(bookings, customer_id),
    )
