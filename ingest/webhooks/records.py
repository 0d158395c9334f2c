"""Events as Kafka records: topic, key, headers and UTF-8 JSON value (docs/topics.md)."""

from dataclasses import dataclass

from contracts import (
    BookingEvent,
    ConsentEvent,
    IdentityEvent,
    IngestDeadLetter,
    MediaChunkEvent,
    MessageEditEvent,
    MessageEvent,
    OutboundEvent,
    Settings,
    StatusEvent,
)
from contracts.logs import CORRELATION_ID

AnyEvent = (
    MessageEvent
    | StatusEvent
    | BookingEvent
    | IngestDeadLetter
    | MessageEditEvent
    | IdentityEvent
    | ConsentEvent
    | MediaChunkEvent
    | OutboundEvent
)


@dataclass(frozen=True, slots=True)
class ProducerRecord:
    """One record to produce."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    kind: str


def participant_key(tenant_id: str, channel: str, channel_user_id: str) -> str:
    """The key of a conversation's messages and statuses, so they share a partition."""
    return f"{tenant_id}:{channel}:{channel_user_id}"


def to_record(event: AnyEvent, settings: Settings, correlation_id: str | None) -> ProducerRecord:
    """The record for ``event``: topic and key as docs/topics.md gives them."""
    match event:
        case MessageEvent():
            topic, kind = settings.topic_messages, "message"
            # A group's messages share the group's key, whoever wrote them.
            who = f"group:{event.group.id}" if event.group else event.participant.channel_user_id
            key = participant_key(event.tenant_id, event.channel, who)
        case MessageEditEvent() | IdentityEvent() | ConsentEvent():
            # Ordered with the conversation's messages: same topic, same key.
            topic, kind = settings.topic_messages, event.SCHEMA.split("/")[0].split(".")[-1]
            key = participant_key(event.tenant_id, event.channel, event.participant.channel_user_id)
        case StatusEvent():
            topic, kind = settings.topic_statuses, "status"
            key = participant_key(event.tenant_id, event.channel, event.participant.channel_user_id)
        case BookingEvent():
            topic, kind = settings.topic_bookings, "booking"
            key = f"{event.tenant_id}:{event.booking.booking_id}"
        case IngestDeadLetter():
            topic, kind = settings.topic_ingest_deadletter, "deadletter"
            key = event.channel
        case MediaChunkEvent():
            # One attachment's chunks share a partition (each is written on its own anyway).
            topic, kind = settings.topic_media, "media_chunk"
            key = f"{event.message_event_id}:{event.index}"
        case OutboundEvent():
            # The conversation's key: its replies go out in the order they were asked.
            topic, kind = settings.topic_outbound, "outbound"
            key = participant_key(event.tenant_id, event.channel, event.recipient)
    headers = [
        ("schema", event.SCHEMA.encode()),
        ("event_id", str(event.event_id).encode()),
        ("content-type", b"application/json"),
    ]
    if correlation_id:
        headers.append((CORRELATION_ID, correlation_id.encode()))
    value = event.model_dump_json(exclude_none=True).encode()
    return ProducerRecord(topic=topic, key=key.encode(), value=value, headers=headers, kind=kind)
