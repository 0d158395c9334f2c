"""What the three inbound-email providers share: Basic auth, tenant routing and the event.

Each provider module turns its payload into an ``InboundEmail``; ``to_result`` routes it to a
tenant and builds the MessageEvent, so the email rules live in one place.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from typing import NamedTuple

from pydantic import ValidationError

from contracts import (
    Attachment,
    AttachmentKind,
    Business,
    Channel,
    Content,
    ContentType,
    Direction,
    EmailHeaders,
    MediaChunkEvent,
    MessageEvent,
    Participant,
    Provider,
    Tenant,
    TenantDirectory,
    chunk_events,
    message_event_id,
)
from contracts.tenants import without_plus_tag
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, ParseResult
from ingest.webhooks.channels.email_parsing import (
    AttachmentMeta,
    attachments,
    body_text,
    header,
    header_values,
    html_to_text,
    parse_message,
)
from matchers import extract_references, normalise_email, parse_mailbox

#: How much of the body goes into the fallback message id (see ``_fallback_message_id``).
_FALLBACK_TEXT_BYTES = 4096
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")

__all__ = [
    "AttachmentMeta",
    "InboundEmail",
    "attachment_kind",
    "from_mime",
    "recipient_tenants",
    "to_result",
    "verify_basic_auth",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundEmail:
    """One received email in provider-neutral form.

    Address fields hold header values (``"Ann <ann@example.com>, bob@example.com"``) or bare
    addresses; threading fields hold raw header values, brackets included.
    """

    sender: str | None
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    envelope_to: Sequence[str] = ()
    subject: str | None = None
    text: str | None = None
    stripped_text: str | None = None
    html: str | None = None
    attachments: Sequence[AttachmentMeta] = ()
    message_id: str | None = None
    provider_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    date: str | None = None
    extra_references: Sequence[str] = ()


def from_mime(raw: bytes) -> InboundEmail:
    """An ``InboundEmail`` from a whole MIME message (SendGrid raw mode, Postmark ``RawEmail``)."""
    message = parse_message(raw)
    return InboundEmail(
        sender=header(message, "From"),
        to=header_values(message, "To"),
        cc=header_values(message, "Cc"),
        subject=header(message, "Subject"),
        text=body_text(message, "plain"),
        html=body_text(message, "html"),
        attachments=attachments(message),
        message_id=header(message, "Message-ID"),
        in_reply_to=header(message, "In-Reply-To"),
        references=header(message, "References"),
        date=header(message, "Date"),
    )


def verify_basic_auth(headers: Headers, expected_user_password: str) -> bool:
    """Whether ``Authorization: Basic`` carries exactly ``user:password`` (constant time)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        presented = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    # Digests of equal length keep the comparison's timing independent of the password length.
    return hmac.compare_digest(
        hashlib.sha256(presented).digest(),
        hashlib.sha256(expected_user_password.encode()).digest(),
    )


def to_result(mail: InboundEmail, *, provider: Provider, context: ParseContext) -> ParseResult:
    """The MessageEvent for ``mail``, or a problem when no recipient belongs to a tenant.

    Raises ParseError when the email has no usable sender address.
    """
    sender_name, sender = parse_mailbox(mail.sender) if mail.sender else (None, None)
    if sender is None:
        raise ParseError(f"email has no valid sender address: {mail.sender!r}")
    recipients = _recipients(mail)
    routed = _route(recipients, context)
    if routed is None:
        listed = ", ".join(box.address for box in recipients) or "none"
        return ParseResult(
            problems=[f"no email recipient belongs to a tenant (recipients: {listed})"]
        )
    tenant, mailbox = routed
    sides = _sides(_Mailbox(sender_name, sender, sender), mailbox, recipients, tenant, context)
    if sides is None:
        return ParseResult(
            problems=[f"email from {sender} has no recipient outside tenant {tenant.id!r}"]
        )
    direction, customer, account = sides

    text = _clean(mail.stripped_text) or _clean(mail.text) or _clean(html_to_text(mail.html))
    subject = _clean(mail.subject)
    message_id = _bare_id(mail.message_id) or _clean(mail.provider_id)
    if message_id is None:
        message_id = _fallback_message_id(sender, mail.date, subject, _clean(mail.text) or text)
    # The address as written: a plus tag is a reference, and references are case-sensitive.
    references = extract_references([subject, text], tenant.reference_pattern, [mailbox.written])
    references += [tag for tag in mail.extra_references if tag and tag not in references]

    try:
        event = MessageEvent(
            event_id=message_event_id(Channel.EMAIL, provider, message_id),
            tenant_id=tenant.id,
            channel=Channel.EMAIL,
            provider=provider,
            direction=direction,
            provider_message_id=message_id,
            occurred_at=_occurred_at(mail.date, context.received_at),
            received_at=context.received_at,
            participant=Participant(
                channel_user_id=customer.address,
                email=customer.address,
                display_name=customer.name,
            ),
            business=Business(channel_account_id=account),
            content=Content(
                type=ContentType.EMAIL,
                subject=subject,
                text=text,
                attachments=[_attachment(item) for item in mail.attachments],
                # In-Reply-To names the message this one answers, as WhatsApp's context.id.
                reply_to_provider_message_id=_bare_id(mail.in_reply_to),
            ),
            email=EmailHeaders(
                message_id=message_id,
                in_reply_to=_bare_id(mail.in_reply_to),
                references=_id_list(mail.references),
            ),
            references=references,
        )
    except ValidationError as error:
        return ParseResult(problems=[f"email {message_id!r} is not a valid event: {error}"])
    return ParseResult(events=[event], media=_attached_bytes(event, mail.attachments))


def _attached_bytes(
    event: MessageEvent, attached: Sequence[AttachmentMeta]
) -> list[MediaChunkEvent]:
    """(v1.1) The chunks of every attachment whose bytes the payload holds, for the media
    worker (contracts/media.py)."""
    return [
        chunk
        for index, item in enumerate(attached)
        if item.content is not None
        for chunk in chunk_events(
            event.tenant_id,
            event.event_id,
            index,
            item.content,
            content_type=item.mime_type,
            filename=item.filename,
        )
    ]


def recipient_tenants(mail: InboundEmail, tenants: TenantDirectory) -> list[Tenant]:
    """Every tenant a recipient of ``mail`` belongs to, once each, in routing order: the first
    is the tenant ``to_result`` routes the email to."""
    found: dict[str, Tenant] = {}
    for box in _recipients(mail):
        tenant = tenants.by_email_address(box.address)
        if tenant is not None:
            found.setdefault(tenant.id, tenant)
    return list(found.values())


def attachment_kind(mime_type: str | None) -> AttachmentKind:
    """The attachment kind of a MIME type: its major type for media, else a document."""
    major = (mime_type or "").partition("/")[0].strip().lower()
    return {
        "image": AttachmentKind.IMAGE,
        "audio": AttachmentKind.AUDIO,
        "video": AttachmentKind.VIDEO,
    }.get(major, AttachmentKind.DOCUMENT)


def _attachment(item: AttachmentMeta) -> Attachment:
    size = item.size if item.size is not None and item.size >= 0 else None
    return Attachment(
        kind=attachment_kind(item.mime_type),
        mime_type=item.mime_type,
        filename=item.filename,
        size=size,
    )


class _Mailbox(NamedTuple):
    name: str | None
    address: str
    written: str


def _recipients(mail: InboundEmail) -> list[_Mailbox]:
    """The mailboxes an email is routed by, in routing order."""
    return _mailboxes(*mail.to, *mail.cc, *mail.envelope_to)


def _mailboxes(*values: str) -> list[_Mailbox]:
    """Every mailbox in ``values``, once each, in order."""
    found: dict[str, _Mailbox] = {}
    for name, written in getaddresses([value for value in values if value]):
        address = normalise_email(written)
        if address is not None and address not in found:
            found[address] = _Mailbox(name.strip() or None, address, written.strip())
    return list(found.values())


def _route(recipients: list[_Mailbox], context: ParseContext) -> tuple[Tenant, _Mailbox] | None:
    """The tenant of the first recipient that belongs to one, and that recipient."""
    for box in recipients:
        tenant = context.tenants.by_email_address(box.address)
        if tenant is not None:
            return tenant, box
    return None


def _sides(
    sender: _Mailbox,
    mailbox: _Mailbox,
    recipients: list[_Mailbox],
    tenant: Tenant,
    context: ParseContext,
) -> tuple[Direction, _Mailbox, str] | None:
    """The direction, the customer's mailbox and the business's account of an email: an
    email the tenant wrote is outbound, to its first recipient outside the tenant (None when
    there is none)."""
    if not _belongs_to(sender.address, tenant, context):
        return Direction.INBOUND, sender, without_plus_tag(mailbox.address)
    found = next((box for box in recipients if not _belongs_to(box.address, tenant, context)), None)
    if found is None:
        return None
    # The business side of an email it wrote is the mailbox it wrote from.
    return Direction.OUTBOUND, found, without_plus_tag(sender.address)


def _belongs_to(address: str, tenant: Tenant, context: ParseContext) -> bool:
    owner = context.tenants.by_email_address(address)
    return owner is not None and owner.id == tenant.id


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("\r\n", "\n").strip() or None


def _bare_id(value: str | None) -> str | None:
    """The first message id in a header value, angle brackets removed."""
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    if match:
        return match.group(1)
    return value.strip().strip("<>").strip() or None


def _id_list(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MESSAGE_ID.findall(value) or value.split()
    return list(dict.fromkeys(found))


def _fallback_message_id(
    sender: str, date: str | None, subject: str | None, text: str | None
) -> str:
    """A stable id for an email without a Message-ID.

    Providers retry a failed POST with a new token and timestamp, so only the email's own
    content can give the retry the same event id (and thus one stored message).
    """
    head = (text or "").encode()[:_FALLBACK_TEXT_BYTES]
    digest = hashlib.sha256()
    for part in (sender.encode(), (date or "").encode(), (subject or "").encode(), head):
        digest.update(len(part).to_bytes(8, "big") + part)
    return f"sha256:{digest.hexdigest()}"


def _occurred_at(date: str | None, received_at: datetime) -> datetime:
    if not date:
        return received_at
    try:
        parsed = parsedate_to_datetime(date)
    except (ValueError, TypeError, IndexError, OverflowError):
        return received_at
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
