"""MessageEvent and StatusEvent: what the gateway publishes for every message and receipt."""

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.base import ContractModel
from contracts.enums import AttachmentKind, Channel, ContentType, DeliveryStatus, Direction
from contracts.types import Identifier, ProviderName, UtcDatetime


class Participant(ContractModel):
    """The customer side of a conversation.

    ``channel_user_id`` is the address the channel knows them by: a WhatsApp ``wa_id`` (or the
    business-scoped user id when there is no phone), a PSID, an IGSID, an E.164 number or a
    lower-case email address.
    """

    channel_user_id: Identifier
    phone: str | None = Field(default=None, description="E.164, when the channel gives one")
    email: str | None = Field(default=None, description="lower case")
    display_name: str | None = None
    user_id: str | None = Field(default=None, description="WhatsApp business-scoped user id")
    username: str | None = None


class Business(ContractModel):
    """The business side: the number, page, account or mailbox the message reached."""

    channel_account_id: Identifier


class Attachment(ContractModel):
    """Metadata of a media item or file; the bytes stay with the provider."""

    kind: AttachmentKind
    mime_type: str | None = None
    provider_media_id: str | None = None
    url: str | None = None
    filename: str | None = None
    size: int | None = Field(default=None, ge=0)
    caption: str | None = None


class Reaction(ContractModel):
    """A reaction to another message; an empty ``emoji`` means the reaction was removed."""

    emoji: str
    target_provider_message_id: Identifier


class Location(ContractModel):
    """A shared location (extension of the v1 contract)."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedContact(ContractModel):
    """A contact card shared in a message (extension of the v1 contract)."""

    name: str
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)


class Referral(ContractModel):
    """Where a conversation came from: an ad, a post, a link or a product (extension)."""

    source_type: str | None = None
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    ref: str | None = None
    ctwa_clid: str | None = None
    catalog_id: str | None = None
    product_retailer_id: str | None = None


class Content(ContractModel):
    """What the message says.

    ``text`` is always the human-readable form (the body, a caption, a button title, a
    postback title), so a chat list can show any message. ``payload`` carries the machine
    value behind a button, quick reply, list row or postback.
    """

    type: ContentType
    text: str | None = None
    subject: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    reply_to_provider_message_id: str | None = None
    reaction: Reaction | None = None
    payload: str | None = None
    location: Location | None = None
    contacts: list[SharedContact] = Field(default_factory=list)
    referral: Referral | None = None
    deleted: bool = Field(default=False, description="the sender unsent this message")


class Group(ContractModel):
    """(v1.1) The group a message was written in: its thread is the group's, not the
    sender's (WhatsApp groups)."""

    id: Identifier
    subject: str | None = None


class EmailHeaders(ContractModel):
    """RFC 5322 threading headers of an email, angle brackets removed."""

    message_id: Identifier
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)


class MessageEvent(ContractModel):
    """One message, inbound from a customer or outbound from the business (echoes included)."""

    SCHEMA: ClassVar[str] = "chat.message/1"

    event_id: UUID
    tenant_id: Identifier
    channel: Channel
    provider: ProviderName
    direction: Direction
    provider_message_id: Identifier
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    participant: Participant
    business: Business
    content: Content
    email: EmailHeaders | None = None
    references: list[str] = Field(default_factory=list)
    group: Group | None = None


class StatusError(ContractModel):
    """Why the provider could not deliver a message."""

    code: str
    title: str


class Pricing(ContractModel):
    """(v1.1) How the provider prices the message this receipt is about (WhatsApp)."""

    billable: bool | None = None
    pricing_model: str | None = None
    category: str | None = None
    type: str | None = None


class Conversation(ContractModel):
    """(v1.1) The provider's conversation the message was sent in (WhatsApp)."""

    id: str
    origin_type: str | None = None
    expires_at: UtcDatetime | None = None


class StatusEvent(ContractModel):
    """A delivery receipt for an outbound message.

    ``watermark`` (extension) is set for Messenger receipts that cover every message up to an
    instant instead of naming one; ``provider_message_id`` is then ``watermark:<ms>``.
    """

    SCHEMA: ClassVar[str] = "chat.status/1"

    event_id: UUID
    tenant_id: Identifier
    channel: Channel
    provider: ProviderName
    provider_message_id: Identifier
    status: DeliveryStatus
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    participant: Participant
    error: StatusError | None = None
    watermark: UtcDatetime | None = None
    pricing: Pricing | None = None
    conversation: Conversation | None = None
