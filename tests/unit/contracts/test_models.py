"""Contract models: strict where we produce, lenient where others do, UTC everywhere."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts import (
    BookingEvent,
    Business,
    Channel,
    Content,
    ContentType,
    Direction,
    MessageEvent,
    Participant,
    booking_event_id,
    message_event_id,
    status_event_id,
)
from tests.factories import booking_event


def make_message(**overrides: object) -> MessageEvent:
    fields: dict[str, object] = {
        "event_id": uuid4(),
        "tenant_id": "acme",
        "channel": Channel.SMS,
        "provider": "twilio",
        "direction": Direction.INBOUND,
        "provider_message_id": "SM1",
        "occurred_at": datetime(2026, 1, 1, 12, tzinfo=UTC),
        "received_at": datetime(2026, 1, 1, 12, tzinfo=UTC),
        "participant": Participant(channel_user_id="+447911123456"),
        "business": Business(channel_account_id="+15557122661"),
        "content": Content(type=ContentType.TEXT, text="hi"),
    }
    fields.update(overrides)
    return MessageEvent.model_validate(fields)


def test_message_event_refuses_unknown_fields() -> None:
    """Our own records are exact: an unknown field is an error, not silently kept."""
    with pytest.raises(ValidationError, match="extra"):
        make_message(surprise=1)


def test_datetimes_are_normalised_to_utc_and_naive_ones_refused() -> None:
    """A +02:00 instant is stored as UTC; a naive datetime is refused."""
    plus_two = timezone(timedelta(hours=2))
    event = make_message(occurred_at=datetime(2026, 1, 1, 14, tzinfo=plus_two))
    assert event.occurred_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert event.occurred_at.tzinfo == UTC
    assert '"occurred_at":"2026-01-01T12:00:00Z"' in event.model_dump_json()
    with pytest.raises(ValidationError):
        make_message(occurred_at=datetime(2026, 1, 1, 12))  # noqa: DTZ001


def test_provider_is_any_lower_case_identifier() -> None:
    """Other services may publish under their own provider name, but not arbitrary text."""
    assert make_message(provider="ses").provider == "ses"
    with pytest.raises(ValidationError):
        make_message(provider="Not A Name")


def test_booking_event_ignores_unknown_fields_and_keeps_decimals_exact() -> None:
    """Booking producers may add fields; totals stay exact decimal strings."""
    event = BookingEvent.model_validate(
        {
            "event_id": str(uuid4()),
            "tenant_id": "acme",
            "type": "booking.created",
            "occurred_at": "2026-05-01T10:00:00Z",
            "version": 3,
            "booking": {
                "booking_id": "b-1",
                "confirmation_code": "ABC-123456",
                "status": "confirmed",
                "activity_name": "Kayak",
                "starts_at": "2026-06-01T09:00:00Z",
                "created_at": "2026-05-01T10:00:00Z",
                "grand_total": "0.10",
                "currency": "EUR",
                "source": "online",
                "loyalty_points": 12,
            },
            "customer": {"name": "Ann", "emails": ["ann@example.com"]},
            "extra_top_level": True,
        }
    )
    assert event.booking.grand_total == Decimal("0.10")
    assert '"grand_total":"0.10"' in event.model_dump_json()


def test_event_ids_are_deterministic_and_distinct_per_kind() -> None:
    """Same inputs give the same id; a status differs from its message and from other statuses."""
    message = message_event_id("whatsapp", "meta", "wamid.1")
    assert message == message_event_id("whatsapp", "meta", "wamid.1")
    assert message != message_event_id("whatsapp", "twilio", "wamid.1")
    delivered = status_event_id("whatsapp", "meta", "wamid.1", "delivered")
    read = status_event_id("whatsapp", "meta", "wamid.1", "read")
    assert len({message, delivered, read}) == 3
    assert message.version == 5
    assert booking_event_id("acme", "b-1", 1) != booking_event_id("acme", "b-1", 2)


def test_a_booking_names_at_most_200_guests() -> None:
    """Each guest is matched or created as a customer: 200 are accepted, 201 refused."""
    event = booking_event(guests=[{"name": f"Guest {n}"} for n in range(200)])
    assert len(event.guests) == 200
    with pytest.raises(ValidationError, match="guests"):
        booking_event(guests=[{"name": f"Guest {n}"} for n in range(201)])
