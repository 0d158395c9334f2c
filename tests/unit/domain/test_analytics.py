"""Analytics and known customers computed from stored bookings."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from bson import Decimal128

from domain.analytics import compute, known_customers
from domain.documents import BookingForAnalytics


def stored(**fields: Any) -> BookingForAnalytics:
    """A stored booking's analytics fields; guests may be partial, as compute reads few."""
    booking: dict[str, Any] = {
        "_id": "acme:b",
        "status": "confirmed",
        "currency": "GBP",
        "grand_total": Decimal128("10.00"),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "guests": [],
    }
    booking.update(fields)
    return cast("BookingForAnalytics", booking)


def test_only_counted_statuses_add_up_per_currency() -> None:
    """Cancelled bookings do not count; sums are exact per currency; the latest date wins."""
    result = compute(
        [
            stored(_id="1", grand_total=Decimal128("0.10"), currency="EUR"),
            stored(_id="2", grand_total=Decimal128("0.20"), currency="EUR"),
            stored(_id="3", status="cancelled", grand_total=Decimal128("99")),
            stored(_id="4", status="completed", created_at=datetime(2026, 3, 1, tzinfo=UTC)),
        ],
        {"confirmed", "completed"},
    )
    assert result["total_bookings"] == 3
    assert [(r["currency"], r["amount"].to_decimal()) for r in result["total_spent"]] == [
        ("EUR", Decimal("0.30")),
        ("GBP", Decimal("10.00")),
    ]
    assert result["lifetime_value"] == result["total_spent"]
    assert result["last_booking_at"] == datetime(2026, 3, 1, tzinfo=UTC)


def test_no_counted_booking_gives_zeroes() -> None:
    """Nothing counted: zero bookings, no spend, no last booking."""
    result = compute([stored(status="pending")], {"confirmed"})
    assert result == {
        "total_bookings": 0,
        "total_spent": [],
        "lifetime_value": [],
        "last_booking_at": None,
    }


def test_known_customers_once_each_in_booking_order() -> None:
    """Guests with a profile by id, without one by name; the booker never lists themself."""
    bookings = [
        stored(
            _id="2",
            created_at=datetime(2026, 2, 1, tzinfo=UTC),
            guests=[{"name": "Bob", "customer_id": "c-bob"}, {"name": "cara"}],
        ),
        stored(
            _id="1",
            guests=[{"name": "Cara", "customer_id": None}, {"name": "Ann", "customer_id": "c-ann"}],
        ),
    ]
    people = known_customers(bookings, "c-ann")
    assert [(p["name"], p["customer_id"]) for p in people] == [("Cara", None), ("Bob", "c-bob")]
