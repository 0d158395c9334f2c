"""The stored documents, one type per collection: what their writers put in MongoDB, what the
readers (the API's schemas, the benchmarks' data builder) take out.

TypedDicts cost nothing at run time; they let the type checker hold every writer and reader
to one shape. Fields added after a collection's first release are ``NotRequired``, because
documents written before them do not have them.
"""

from datetime import datetime
from typing import Any, NotRequired, TypedDict

from bson import Decimal128

#: A ``$set`` document: the fields an update changes, by dotted path.
Changes = dict[str, Any]

#: A MongoDB query filter.
Query = dict[str, Any]

#: A contract model stored as its JSON (``model_dump(mode="json")``): its fields are the
#: contract's, documented in ``docs/topics.md``.
StoredJson = dict[str, Any]


# --- customers -------------------------------------------------------------------------------


class ChannelIdentityDocument(TypedDict):
    channel: str
    channel_user_id: str


class MoneyDocument(TypedDict):
    currency: str
    amount: Decimal128


class BookingAnalytics(TypedDict):
    """The analytics computed from a customer's bookings."""

    total_bookings: int
    total_spent: list[MoneyDocument]
    lifetime_value: list[MoneyDocument]
    last_booking_at: datetime | None


class AnalyticsDocument(BookingAnalytics):
    last_contact_at: datetime | None
    customer_since: datetime


class KnownCustomerDocument(TypedDict):
    """Someone the customer booked for; ``customer_id`` is None for a guest without a profile."""

    customer_id: str | None
    name: str | None
    email: str | None
    phone: str | None


class NameSearchFields(TypedDict):
    """Stored beside a profile's name so every name search is index-backed."""

    search_name: str
    search_words: list[str]
    search_grams: list[str]


class ExternalIdSearchFields(TypedDict):
    external_id_folded: str | None


class ProfileFields(TypedDict):
    """A customer profile without its id: what a new profile starts with."""

    tenant_id: str
    source: str
    created_at: datetime
    customer_since: datetime
    emails: list[str]
    phone: str | None
    previous_phones: list[str]
    previous_phone_keys: list[str]
    channel_identities: list[ChannelIdentityDocument]
    tags: list[str]
    notes: str | None
    merged_into: str | None
    #: Counts every change to the profile's fields (compare and set).
    revision: int
    #: Counts every change to the customer's bookings; analytics carry the one they saw.
    bookings_revision: int
    analytics: AnalyticsDocument
    known_customers: list[KnownCustomerDocument]
    name: NotRequired[str | None]
    #: The match key of ``phone`` (see ``matchers.phones``); equal keys, same phone.
    phone_key: NotRequired[str | None]
    phone_changed_at: NotRequired[datetime | None]
    #: Phones given that are not valid numbers: kept, never matched.
    unmatched_phones: NotRequired[list[str]]
    external_id: NotRequired[str | None]
    #: The contract's Address as JSON.
    address: NotRequired[StoredJson | None]
    #: ISO 8601 date.
    date_of_birth: NotRequired[str | None]
    company_name: NotRequired[str | None]
    updated_at: NotRequired[datetime]
    analytics_revision: NotRequired[int]
    # Search fields derived from the name and external id (``domain.store.search``).
    search_name: NotRequired[str]
    search_words: NotRequired[list[str]]
    search_grams: NotRequired[list[str]]
    external_id_folded: NotRequired[str | None]


class CustomerDocument(ProfileFields):
    """``customers``."""

    _id: str


# --- bookings --------------------------------------------------------------------------------


class GuestDocument(TypedDict):
    """A named guest of a booking, linked to their own profile when they have an identifier."""

    name: str
    email: str | None
    phone: str | None
    demographic: str | None
    customer_id: str | None


class BookingDocument(TypedDict):
    """``bookings``: the newest version of each booking (``_id`` is ``{tenant}:{booking}``)."""

    _id: str
    tenant_id: str
    booking_id: str
    version: int
    event_id: str
    event_type: str
    confirmation_code: str | None
    status: str
    activity_name: str | None
    starts_at: datetime | None
    created_at: datetime
    grand_total: Decimal128
    currency: str
    source: str
    branch_id: str | None
    #: The primary booker; None once their profile was deleted.
    customer_id: str | None
    matched_by: str
    #: The booking's customer as the event gave it (the contract's BookingCustomer as JSON).
    customer: StoredJson
    guests: list[GuestDocument]
    occurred_at: datetime
    updated_at: datetime


class BookingForAnalytics(TypedDict):
    """The fields of a stored booking that its booker's analytics are computed from."""

    _id: str
    status: str
    currency: str
    grand_total: Decimal128
    created_at: datetime
    guests: list[GuestDocument]


# --- threads and messages --------------------------------------------------------------------


class ParticipantDocument(TypedDict, total=False):
    """The contract's Participant without its empty fields."""

    channel_user_id: str
    phone: str
    email: str
    display_name: str
    user_id: str
    username: str


class LastMessageDocument(TypedDict):
    message_id: str
    preview: str
    direction: str
    occurred_at: datetime
    content_type: str


class ThreadSummary(TypedDict):
    """What a thread's messages say about it, recomputed whenever they change."""

    message_count: int
    unread_count: int
    last_message_at: datetime | None
    last_message: LastMessageDocument | None
    #: (v1.1) When the customer last wrote, by the provider's clock.
    last_inbound_at: datetime | None
    #: (v1.1) The participant's words and those of the messages (at most ``THREAD_WORDS``).
    search_words: list[str]


class ThreadDocument(TypedDict):
    """``threads``: one per tenant, channel and participant."""

    _id: str
    tenant_id: str
    channel: str
    #: Every key the participant is found by (``matchers.keys``), the primary one first.
    participant_keys: list[str]
    participant: ParticipantDocument
    business_account: str
    customer_id: str | None
    matched_by: str | None
    #: The customers an ambiguous match found.
    candidates: list[str]
    created_at: datetime
    last_message: LastMessageDocument | None
    last_message_at: datetime | None
    message_count: int
    unread_count: int
    last_read_at: datetime | None
    #: Counts every change to the thread's messages; a summary carries the one it saw.
    summary_revision: int
    summary_written: NotRequired[int]
    #: When the summary last changed (the thread list's snapshot paging reads it).
    summary_at: NotRequired[datetime]
    #: (v1.1) The thread this one became when both turned out to be one participant's.
    merged_into: NotRequired[str]
    #: (v1.1) Working the conversation: open, pending, resolved or snoozed (absent: open),
    #: when that last changed, until when it is snoozed, who has it, and its labels.
    status: NotRequired[str]
    status_at: NotRequired[datetime | None]
    snoozed_until: NotRequired[datetime | None]
    assignee: NotRequired[str | None]
    labels: NotRequired[list[str]]
    last_inbound_at: NotRequired[datetime | None]
    #: (v1.1) Every word the participant has been known by (``participant_words``), and
    #: those with the words of the thread's messages (the thread list's ``q``).
    participant_words: NotRequired[list[str]]
    search_words: NotRequired[list[str]]


class StatusErrorDocument(TypedDict):
    code: str
    title: str


class MessageDocument(TypedDict):
    """``messages``: every message once (``_id`` is its event id)."""

    _id: str
    tenant_id: str
    thread_id: str
    channel: str
    provider: str
    direction: str
    provider_message_id: str
    occurred_at: datetime
    received_at: datetime
    participant: ParticipantDocument
    #: The customer's address on the channel, as the communications log shows it.
    counterpart: str
    #: The contract's Business as JSON.
    business: StoredJson
    #: The contract's Content as JSON.
    content: StoredJson
    #: The contract's EmailHeaders as JSON, for email.
    email: StoredJson | None
    references: list[str]
    preview: str
    customer_id: str | None
    matched_by: str | None
    candidates: list[str]
    #: Outbound messages only: sent, delivered, read or failed, and its order.
    status: str | None
    status_rank: int
    deleted: bool
    stored_at: NotRequired[datetime]
    status_times: NotRequired[dict[str, datetime]]
    status_error: NotRequired[StatusErrorDocument]
    #: The group the message was written in (WhatsApp groups), as the contract's Group.
    group: NotRequired[StoredJson | None]
    #: The provider's pricing and conversation of an outbound message, from its receipts.
    pricing: NotRequired[StoredJson]
    conversation: NotRequired[StoredJson]
    #: Edits and revokes applied (``domain.edits``): the content as first received, each
    #: earlier version, when the current one was written, and how many edits are applied.
    original_content: NotRequired[StoredJson]
    versions: NotRequired[list["MessageVersionDocument"]]
    edited_at: NotRequired[datetime | None]
    edits_applied: NotRequired[int]
    #: (v1.1) A note's writer (``direction: note``): staff, never sent to the customer.
    author: NotRequired[str | None]
    #: (v1.1) The folded words of the text and subject, for message search.
    search_words: NotRequired[list[str]]
    #: (v1.1) When an attachment's file was last stored or given up on (readers of the
    #: change stream see the message again, with its attachments' new states).
    media_changed_at: NotRequired[datetime]
    #: (v1.1) A reply sent from the Chats page: its sending (``domain.outbound``).
    outbound: NotRequired["OutboundDocument"]


class OutboundTemplateDocument(TypedDict):
    name: str
    language: str
    parameters: list[str]


class OutboundDocument(TypedDict, total=False):
    """(v1.1) How far a reply's sending got. ``attempt`` is the current attempt (a retry
    adds one); ``claimed`` the attempt a worker began to send, so a worker that finds its
    attempt claimed already knows an earlier one may have sent it."""

    attempt: int
    claimed: int | None
    idempotency_key: str | None
    human_agent_tag: bool
    template: OutboundTemplateDocument | None
    requested_at: datetime
    #: On ``chat.outbound.v1`` (a repeated request publishes again until it is).
    published: bool
    sent_at: datetime | None
    #: Why the last attempt's outcome is unknown, or why it was refused.
    reason: str | None


class MessageVersionDocument(TypedDict):
    """An earlier version of an edited message, and when it was replaced."""

    content: StoredJson
    replaced_at: datetime


class MessageEditDocument(TypedDict):
    """``message_edits``: every edit or revoke of a message (``_id``: the event id), kept
    whether or not its message has arrived."""

    _id: str
    tenant_id: str
    channel: str
    target_provider_message_id: str
    provider_message_id: str
    action: str
    #: The contract's Content as JSON; None for a revoke.
    content: StoredJson | None
    occurred_at: datetime


class ConsentEventDocument(TypedDict):
    """``consent_events``: one consent choice as received (``_id``: its event id), found by
    the participant's keys within its channel."""

    _id: str
    tenant_id: str
    channel: str
    participant_keys: list[str]
    business_account: str
    topic: str
    status: str
    source: str
    keyword: str | None
    provider_message_id: str | None
    occurred_at: datetime
    received_at: datetime


class PendingStatusDocument(TypedDict):
    """``pending_statuses``: a receipt that arrived before its message (``_id``: event id)."""

    _id: str
    tenant_id: str
    channel: str
    provider_message_id: str
    status: str
    occurred_at: datetime
    error: StatusErrorDocument | None
    #: The receipt's pricing and conversation, kept on the message when it arrives.
    details: NotRequired[StoredJson]


# --- media -----------------------------------------------------------------------------------


class MediaDocument(TypedDict, total=False):
    """(v1.1) ``media``: one attachment's file (``_id``: ``{message}:{index}``, also its
    GridFS file id): where it is fetched from, and how far that got."""

    _id: str
    tenant_id: str
    message_id: str
    index: int
    channel: str
    #: How the file is fetched: ``graph`` (a WhatsApp media id), ``twilio`` (a MediaUrl, with
    #: the account's credentials), ``url`` (a Messenger or Instagram CDN URL) or ``email``
    #: (its chunks arrive on the media topic).
    source: str
    locator: str | None
    mime_type: str | None
    filename: str | None
    #: pending, stored or unavailable (then ``reason`` says why).
    state: str
    reason: str | None
    attempts: int
    #: When to try (again); a claimed fetch holds it until then; None once it is over.
    next_attempt_at: datetime | None
    size: int
    sha256: str | None
    content_type: str | None
    #: (v1.1) The GridFS file when it is not the attachment's own (a reply's upload).
    file_id: str
    created_at: datetime
    updated_at: datetime


# --- identity claims and webhook tokens ------------------------------------------------------


class IdentityClaimDocument(TypedDict):
    """``identity_claims``: one identifier owned by one customer (``_id``: the claim key)."""

    _id: str
    tenant_id: str
    customer_id: str


class WebhookTokenDocument(TypedDict):
    """``webhook_tokens``: a signed webhook's one-time token, kept until it expires."""

    _id: str
    seen_at: datetime
