"""Threadline's shared language: event contracts, settings and the tenants file.

This package imports nothing else of Threadline's.
"""

from contracts.bookings import (
    Address,
    Booking,
    BookingConsent,
    BookingCustomer,
    BookingEvent,
    ChannelIdentity,
    Guest,
)
from contracts.changes import (
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    EditAction,
    IdentityChange,
    IdentityEvent,
    MessageEditEvent,
)
from contracts.deadletter import ConsumerDeadLetterHeaders, IngestDeadLetter
from contracts.enums import (
    AttachmentKind,
    BookingEventType,
    BookingStatus,
    Channel,
    ContentType,
    DeliveryStatus,
    Direction,
    Provider,
)
from contracts.ids import (
    booking_event_id,
    change_event_id,
    dead_letter_id,
    message_event_id,
    status_event_id,
)
from contracts.media import CHUNK_BYTES, MediaChunkEvent, attachment_id, chunk_events
from contracts.messages import (
    Attachment,
    Business,
    Content,
    Conversation,
    EmailHeaders,
    Group,
    Location,
    MessageEvent,
    Participant,
    Pricing,
    Reaction,
    Referral,
    SharedContact,
    StatusError,
    StatusEvent,
)
from contracts.outbound import OutboundEvent, outbound_event_id
from contracts.settings import Settings, get_settings
from contracts.tenants import (
    Tenant,
    TenantDirectory,
    TenantsFileError,
    load_tenants,
    parse_tenants,
)

#: Every versioned record, by the value of its ``schema`` header.
SCHEMAS = {
    model.SCHEMA: model
    for model in (
        MessageEvent,
        StatusEvent,
        BookingEvent,
        IngestDeadLetter,
        MessageEditEvent,
        IdentityEvent,
        ConsentEvent,
        MediaChunkEvent,
        OutboundEvent,
    )
}

__all__ = [
    "CHUNK_BYTES",
    "SCHEMAS",
    "Address",
    "Attachment",
    "AttachmentKind",
    "Booking",
    "BookingConsent",
    "BookingCustomer",
    "BookingEvent",
    "BookingEventType",
    "BookingStatus",
    "Business",
    "Channel",
    "ChannelIdentity",
    "ConsentEvent",
    "ConsentStatus",
    "ConsentTopic",
    "ConsumerDeadLetterHeaders",
    "Content",
    "ContentType",
    "Conversation",
    "DeliveryStatus",
    "Direction",
    "EditAction",
    "EmailHeaders",
    "Group",
    "Guest",
    "IdentityChange",
    "IdentityEvent",
    "IngestDeadLetter",
    "Location",
    "MediaChunkEvent",
    "MessageEditEvent",
    "MessageEvent",
    "OutboundEvent",
    "Participant",
    "Pricing",
    "Provider",
    "Reaction",
    "Referral",
    "Settings",
    "SharedContact",
    "StatusError",
    "StatusEvent",
    "Tenant",
    "TenantDirectory",
    "TenantsFileError",
    "attachment_id",
    "booking_event_id",
    "change_event_id",
    "chunk_events",
    "dead_letter_id",
    "get_settings",
    "load_tenants",
    "message_event_id",
    "outbound_event_id",
    "parse_tenants",
    "status_event_id",
]
