"""Enumerations shared by every contract."""

from enum import StrEnum


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    MESSENGER = "messenger"
    SMS = "sms"
    EMAIL = "email"


class Provider(StrEnum):
    """Providers whose webhooks the gateway normalises.

    Other services may publish events naming other providers, so event fields typed as
    provider accept any lower-case identifier; these are the ones we produce.
    """

    META = "meta"
    TWILIO = "twilio"
    MAILGUN = "mailgun"
    SENDGRID = "sendgrid"
    POSTMARK = "postmark"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ContentType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    REACTION = "reaction"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    EMAIL = "email"
    UNSUPPORTED = "unsupported"


class AttachmentKind(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    STORY = "story"
    SHARE = "share"
    OTHER = "other"


class DeliveryStatus(StrEnum):
    """Delivery states of an outbound message, in the order they can only move forward."""

    SENT = "sent"
    DELIVERED = "delivered"
    #: (v1.1) A voice message was listened to; beside ``read``, after ``delivered``.
    PLAYED = "played"
    READ = "read"
    FAILED = "failed"


class BookingEventType(StrEnum):
    CREATED = "booking.created"
    UPDATED = "booking.updated"
    CONFIRMED = "booking.confirmed"
    CANCELLED = "booking.cancelled"
    COMPLETED = "booking.completed"
    NO_SHOW = "booking.no_show"


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
