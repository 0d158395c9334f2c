"""Deterministic event ids: the same provider message always gets the same id."""

import hashlib
import uuid

#: Namespace of every Threadline event id (UUIDv5). Never change it: ids are stored keys.
EVENT_NAMESPACE = uuid.UUID("6f1c8e2a-3d4b-5c6d-9e8f-0a1b2c3d4e5f")


def message_event_id(channel: str, provider: str, provider_message_id: str) -> uuid.UUID:
    """Id of a MessageEvent: UUIDv5 of channel, provider and provider message id."""
    return uuid.uuid5(EVENT_NAMESPACE, f"message:{channel}:{provider}:{provider_message_id}")


def status_event_id(
    channel: str, provider: str, provider_message_id: str, status: str
) -> uuid.UUID:
    """Id of a StatusEvent: one per message and status, so a repeated receipt is one event."""
    return uuid.uuid5(
        EVENT_NAMESPACE, f"status:{channel}:{provider}:{provider_message_id}:{status}"
    )


def change_event_id(kind: str, channel: str, provider: str, *parts: str) -> uuid.UUID:
    """Id of an edit, identity or consent event: UUIDv5 of its kind, channel, provider and
    what the provider sent (its id, and whatever tells one such notice from another)."""
    return uuid.uuid5(EVENT_NAMESPACE, ":".join((kind, channel, provider, *parts)))


def booking_event_id(tenant_id: str, booking_id: str, version: int) -> uuid.UUID:
    """Id given to a booking event posted without one: one per booking version."""
    return uuid.uuid5(EVENT_NAMESPACE, f"booking:{tenant_id}:{booking_id}:{version}")


def dead_letter_id(path: str, body: bytes) -> uuid.UUID:
    """Id of a dead-lettered request: the same request delivered twice has the same id."""
    digest = hashlib.sha256(body).hexdigest()
    return uuid.uuid5(EVENT_NAMESPACE, f"deadletter:{path}:{digest}")
