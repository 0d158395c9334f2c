"""Keyword-only factories of contract objects for tests and benchmarks."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import BookingEvent


def booking_event(
    *,
    booking_id: str = "b-1",
    version: int = 1,
    tenant_id: str = "acme",
    status: str = "confirmed",
    type_: str = "booking.created",
    name: str = "Ann Lee",
    emails: list[str] | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    grand_total: str = "100.00",
    currency: str = "GBP",
    source: str = "online",
    created_at: datetime | None = None,
    occurred_at: datetime | None = None,
    guests: list[dict[str, Any]] | None = None,
    channel_identities: list[dict[str, str]] | None = None,
) -> BookingEvent:
    """A BookingEvent with sensible defaults; its event id is per booking and version."""
    created = created_at or datetime(2026, 5, 1, 10, tzinfo=UTC)
    customer: dict[str, Any] = {
        "name": name,
        "emails": ["ann@example.com"] if emails is None else emails,
        "channel_identities": channel_identities or [],
    }
    if phone is not None:
        customer["phone"] = phone
    if external_id is not None:
        customer["external_id"] = external_id
    return BookingEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{booking_id}/{version}")),
            "tenant_id": tenant_id,
            "type": type_,
            "occurred_at": occurred_at or created + timedelta(minutes=version),
            "version": version,
            "booking": {
                "booking_id": booking_id,
                "confirmation_code": f"ABC-{abs(hash(booking_id)) % 1_000_000:06d}",
                "status": status,
                "activity_name": "Kayak tour",
                "starts_at": created + timedelta(days=30),
                "created_at": created,
                "grand_total": grand_total,
                "currency": currency,
                "source": source,
            },
            "customer": customer,
            "guests": guests or [],
        }
    )
