"""Keyword-only factories of contract objects for tests and benchmarks."""

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contracts import BookingEvent

if TYPE_CHECKING:
    from contracts import ConsentEvent, MessageEditEvent, MessageEvent, StatusEvent


def confirmation_code(booking_id: str) -> str:
    """The booking's code, the same in every run (``hash()`` of a str changes per process)."""
    return f"ABC-{zlib.crc32(booking_id.encode()) % 1_000_000:06d}"


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
                "confirmation_code": confirmation_code(booking_id),
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


def message_event(
    *,
    provider_message_id: str = "wamid.1",
    tenant_id: str = "acme",
    channel: str = "whatsapp",
    direction: str = "inbound",
    text: str = "Hello",
    occurred_at: datetime | None = None,
    channel_user_id: str = "447911123456",
    phone: str | None = "+447911123456",
    email: str | None = None,
    user_id: str | None = None,
    references: list[str] | None = None,
    provider: str = "meta",
    group_id: str | None = None,
    reply_to: str | None = None,
    display_name: str | None = None,
) -> "MessageEvent":
    """A MessageEvent whose id follows the contract's rule."""
    from contracts import MessageEvent, message_event_id

    at = occurred_at or datetime(2026, 5, 1, 12, tzinfo=UTC)
    participant: dict[str, Any] = {"channel_user_id": channel_user_id}
    if phone:
        participant["phone"] = phone
    if email:
        participant["email"] = email
    if user_id:
        participant["user_id"] = user_id
    if display_name:
        participant["display_name"] = display_name
    return MessageEvent.model_validate(
        {
            "event_id": message_event_id(channel, provider, provider_message_id),
            "tenant_id": tenant_id,
            "channel": channel,
            "provider": provider,
            "direction": direction,
            "provider_message_id": provider_message_id,
            "occurred_at": at,
            "received_at": at + timedelta(seconds=1),
            "participant": participant,
            "business": {"channel_account_id": "106540352242922"},
            "content": {
                "type": "text",
                "text": text,
                **({"reply_to_provider_message_id": reply_to} if reply_to else {}),
            },
            "references": references or [],
            **({"group": {"id": group_id}} if group_id else {}),
        }
    )


def status_event(
    *,
    provider_message_id: str = "wamid.1",
    status: str = "delivered",
    tenant_id: str = "acme",
    channel: str = "whatsapp",
    occurred_at: datetime | None = None,
    channel_user_id: str = "447911123456",
    error: dict[str, str] | None = None,
) -> "StatusEvent":
    from contracts import StatusEvent, status_event_id

    at = occurred_at or datetime(2026, 5, 1, 12, 5, tzinfo=UTC)
    return StatusEvent.model_validate(
        {
            "event_id": status_event_id(channel, "meta", provider_message_id, status),
            "tenant_id": tenant_id,
            "channel": channel,
            "provider": "meta",
            "provider_message_id": provider_message_id,
            "status": status,
            "occurred_at": at,
            "received_at": at,
            "participant": {"channel_user_id": channel_user_id},
            **({"error": error} if error else {}),
        }
    )


def edit_event(
    *,
    target: str = "wamid.1",
    provider_message_id: str = "wamid.edit.1",
    text: str | None = "Hello, edited",
    tenant_id: str = "acme",
    channel: str = "whatsapp",
    occurred_at: datetime | None = None,
    channel_user_id: str = "447911123456",
) -> "MessageEditEvent":
    """An edit of ``target`` to ``text``; with ``text=None``, a revoke."""
    from contracts import MessageEditEvent, change_event_id

    at = occurred_at or datetime(2026, 5, 1, 12, 10, tzinfo=UTC)
    return MessageEditEvent.model_validate(
        {
            "event_id": change_event_id("edit", channel, "meta", provider_message_id),
            "tenant_id": tenant_id,
            "channel": channel,
            "provider": "meta",
            "provider_message_id": provider_message_id,
            "target_provider_message_id": target,
            "action": "edit" if text is not None else "revoke",
            "occurred_at": at,
            "received_at": at,
            "participant": {"channel_user_id": channel_user_id, "phone": f"+{channel_user_id}"},
            "business": {"channel_account_id": "106540352242922"},
            **({"content": {"type": "text", "text": text}} if text is not None else {}),
        }
    )


def consent_event(
    *,
    status: str = "revoked",
    topic: str = "all",
    channel: str = "sms",
    tenant_id: str = "acme",
    phone: str = "+447911123456",
    occurred_at: datetime | None = None,
    source: str = "twilio_opt_out_type",
    keyword: str | None = "STOP",
) -> "ConsentEvent":
    """A consent choice made by the person with ``phone`` on ``channel``."""
    from contracts import ConsentEvent, change_event_id

    at = occurred_at or datetime(2026, 5, 1, 12, tzinfo=UTC)
    user = phone if channel == "sms" else phone.lstrip("+")
    return ConsentEvent.model_validate(
        {
            "event_id": change_event_id("consent", channel, "test", user, status, at.isoformat()),
            "tenant_id": tenant_id,
            "channel": channel,
            "provider": "twilio" if channel == "sms" else "meta",
            "occurred_at": at,
            "received_at": at,
            "participant": {"channel_user_id": user, "phone": phone},
            "business": {"channel_account_id": "+13177933221"},
            "topic": topic,
            "status": status,
            "source": source,
            "keyword": keyword,
        }
    )
