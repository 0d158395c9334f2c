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
from domain.store.customers import ComputedAnalytics
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


def computed(
    tenant: Tenant, bookings: list[BookingForAnalytics], customer_id: str
) -> tuple[BookingAnalytics, list[KnownCustomerDocument]]:
    """The customer's analytics and known customers from their bookings, by ``tenant``'s
    counted statuses."""
    counted = {str(status) for status in tenant.counted_statuses}
    return compute(bookings, counted), known_customers(bookings, customer_id)


async def refresh_many(store: Store, tenant: Tenant, customer_ids: list[str]) -> None:
    """Recompute the customers' analytics and known customers from their stored bookings: one
    read of their bookings revisions, one of their bookings and one write, however many.

    Each is stored only if the customer's bookings revision is still the one read before the
    bookings were, and counts one more: a writer whose booking landed after that read changes
    the revision, so this write fails and is made again from a fresh read. Of two refreshes
    racing, the one stored has read every booking written before it.
    """
    wanted = sorted(set(customer_ids))
    if not wanted:
        return
    for _ in range(_REFRESH_ATTEMPTS):
        revisions = await store.customers.bookings_revisions(wanted)
        bookings = await store.bookings.of_customers(tenant.id, sorted(revisions))
        rows = {
            customer: ComputedAnalytics(
                revision, *computed(tenant, bookings.get(customer, []), customer)
            )
            for customer, revision in revisions.items()
        }
        if await store.customers.set_analytics(rows):
            return
        # Computed again for all: those stored are stored again, from a fresher read.
    raise TimeoutError(f"the bookings of customers {wanted[:5]} kept changing under us")


_REFRESH_ATTEMPTS = 20
