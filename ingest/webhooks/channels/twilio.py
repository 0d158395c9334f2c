"""Twilio Programmable Messaging: SMS, MMS and WhatsApp messages, and their status callbacks."""

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from pydantic import ValidationError

from contracts import (
    Attachment,
    AttachmentKind,
    Business,
    Channel,
    Content,
    ContentType,
    DeliveryStatus,
    Direction,
    MessageEvent,
    Participant,
    Provider,
    StatusError,
    StatusEvent,
    Tenant,
    TenantDirectory,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, ParseResult
from matchers import extract_references, normalise_phone

_WHATSAPP = "whatsapp:"
_DEFAULT_PORTS = {"https": 443, "http": 80}
_MEDIA_URL = re.compile(r"^MediaUrl(\d{1,3})$")
_INBOUND_STATUSES = frozenset({"received", "receiving"})
#: Outbound states before the carrier has the message; our status vocabulary starts at sent.
_PENDING_STATUSES = frozenset({"queued", "accepted", "scheduled", "sending"})
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
#: Short titles for the error codes a status callback commonly carries without ErrorMessage.
_ERROR_TITLES = {
    "21610": "recipient unsubscribed (replied STOP)",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
}
_MEDIA_KINDS = {
    AttachmentKind.IMAGE: ContentType.IMAGE,
    AttachmentKind.AUDIO: ContentType.AUDIO,
    AttachmentKind.VIDEO: ContentType.VIDEO,
}


def verify(raw: bytes, headers: Headers, url: str, auth_token: str) -> bool:
    """Whether ``X-Twilio-Signature`` signs this request to ``url`` with ``auth_token``.

    ``url`` is the public URL Twilio called, query included. Form bodies are signed through
    their parameters; when the URL carries ``bodySHA256`` (JSON bodies) the body is checked
    against that hash instead. Either form of the URL's default port is accepted, as in
    Twilio's own SDKs, because Twilio is not consistent about it.
    """
    presented = headers.get("x-twilio-signature")
    if not presented:
        return False
    body_hash = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body_hash:
        params: list[tuple[str, str]] = []
        expected_hash = hashlib.sha256(raw).hexdigest().encode()
        if not hmac.compare_digest(expected_hash, body_hash[0].encode()):
            return False
    else:
        try:
            params = _params(raw)
        except ParseError:
            return False
    valid = False
    for candidate in _url_variants(url):
        # Every variant is computed so the time taken does not say which one matched.
        valid |= hmac.compare_digest(
            _signature(candidate, params, auth_token).encode(), presented.strip().encode()
        )
    return valid


def account_sid(raw: bytes) -> str | None:
    """The ``AccountSid`` the request names, or None (or when the body is unreadable)."""
    try:
        return _first(_params(raw)).get("AccountSid") or None
    except ParseError:
        return None


def numbers(raw: bytes) -> list[str]:
    """``To`` then ``From`` without the ``whatsapp:`` prefix: one of them is the tenant's own."""
    try:
        fields = _first(_params(raw))
    except ParseError:
        return []
    numbers = (_strip_prefix(fields.get(name, "")) for name in ("To", "From"))
    return [number for number in numbers if number]


def find_tenant(raw: bytes, tenants: TenantDirectory) -> Tenant | None:
    """The tenant a request belongs to: by ``AccountSid``, else by its own number in To/From.

    Some status callbacks carry no ``AccountSid``. The tenant found this way only proposes
    the auth token the signature must match, so a wrong guess is refused, not trusted.
    """
    sid = account_sid(raw)
    if sid:
        tenant = tenants.by_twilio_account_sid(sid)
        if tenant is not None:
            return tenant
    return _tenant_by_number(numbers(raw), tenants.tenants)


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The MessageEvent of an inbound message or the StatusEvent of a status callback.

    Pending statuses (queued, accepted, scheduled, sending) give an empty result.
    """
    fields = _first(_params(raw))
    tenant = find_tenant(raw, context.tenants)
    if tenant is None:
        sid = fields.get("AccountSid") or "none"
        listed = ", ".join(numbers(raw)) or "none"
        return ParseResult(
            problems=[f"unknown Twilio account (AccountSid {sid}, numbers {listed})"]
        )
    channel = Channel.WHATSAPP if _is_whatsapp(fields) else Channel.SMS
    status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").strip().lower()
    is_message = "Body" in fields or "NumMedia" in fields
    try:
        if is_message and (not status or status in _INBOUND_STATUSES):
            return ParseResult(events=[_message(fields, tenant, channel, context)])
        if status in _PENDING_STATUSES:
            return ParseResult()
        if status in _STATUSES:
            return ParseResult(events=[_status(fields, status, tenant, channel, context)])
    except ValidationError as error:
        return ParseResult(problems=[f"Twilio request is not a valid event: {error}"])
    if status:
        return ParseResult(problems=[f"unknown Twilio message status {status!r}"])
    return ParseResult(problems=["Twilio request is neither a message nor a status callback"])


def _message(
    fields: dict[str, str], tenant: Tenant, channel: Channel, context: ParseContext
) -> MessageEvent:
    sid = _message_sid(fields)
    user_id = _strip_prefix(fields.get("ExternalUserId", "")) or None
    sender = _strip_prefix(fields.get("From", ""))
    if not sender and not user_id:
        raise ParseError("Twilio message without From")
    business = _strip_prefix(fields.get("To", ""))
    if not business:
        raise ParseError("Twilio message without To")
    phone = normalise_phone(sender, tenant.default_region) if sender else None
    body = fields.get("Body") or None
    attachments = _attachments(fields)
    content_type = ContentType.TEXT
    if attachments:
        content_type = _MEDIA_KINDS.get(attachments[0].kind, ContentType.DOCUMENT)
    return MessageEvent(
        event_id=message_event_id(channel, Provider.TWILIO, sid),
        tenant_id=tenant.id,
        channel=channel,
        provider=Provider.TWILIO,
        direction=Direction.INBOUND,
        provider_message_id=sid,
        # Twilio sends no timestamp with a message.
        occurred_at=context.received_at,
        received_at=context.received_at,
        participant=Participant(
            channel_user_id=phone or sender or user_id or "",
            phone=phone,
            display_name=fields.get("ProfileName") or None,
            user_id=user_id,
        ),
        business=Business(channel_account_id=business),
        content=Content(type=content_type, text=body, attachments=attachments),
        references=extract_references([body], tenant.reference_pattern),
    )


def _status(
    fields: dict[str, str], status: str, tenant: Tenant, channel: Channel, context: ParseContext
) -> StatusEvent:
    sid = _message_sid(fields)
    # A status concerns a message the business sent, so the customer is its recipient.
    customer = _strip_prefix(fields.get("To", ""))
    if not customer:
        raise ParseError("Twilio status callback without To")
    phone = normalise_phone(customer, tenant.default_region)
    delivery = _STATUSES[status]
    error = None
    if delivery is DeliveryStatus.FAILED:
        code = fields.get("ErrorCode") or status
        title = fields.get("ErrorMessage") or _ERROR_TITLES.get(code) or status
        error = StatusError(code=code, title=title)
    return StatusEvent(
        event_id=status_event_id(channel, Provider.TWILIO, sid, delivery),
        tenant_id=tenant.id,
        channel=channel,
        provider=Provider.TWILIO,
        provider_message_id=sid,
        status=delivery,
        occurred_at=context.received_at,
        received_at=context.received_at,
        participant=Participant(channel_user_id=phone or customer, phone=phone),
        error=error,
    )


def _attachments(fields: dict[str, str]) -> list[Attachment]:
    indexes = sorted(
        int(match.group(1)) for name in fields if (match := _MEDIA_URL.match(name)) is not None
    )
    found = []
    for index in indexes:
        url = fields.get(f"MediaUrl{index}")
        if not url:
            continue
        mime = fields.get(f"MediaContentType{index}", "").strip().lower() or None
        found.append(Attachment(kind=_media_kind(mime), mime_type=mime, url=url))
    return found


def _media_kind(mime: str | None) -> AttachmentKind:
    if mime is None:
        return AttachmentKind.OTHER
    major = mime.partition("/")[0]
    return {
        "image": AttachmentKind.IMAGE,
        "audio": AttachmentKind.AUDIO,
        "video": AttachmentKind.VIDEO,
    }.get(major, AttachmentKind.DOCUMENT)


def _message_sid(fields: dict[str, str]) -> str:
    sid = fields.get("MessageSid") or fields.get("SmsMessageSid") or fields.get("SmsSid")
    if not sid:
        raise ParseError("Twilio request without MessageSid")
    return sid


def _is_whatsapp(fields: dict[str, str]) -> bool:
    return any(fields.get(name, "").startswith(_WHATSAPP) for name in ("From", "To"))


def _strip_prefix(value: str) -> str:
    return value.removeprefix(_WHATSAPP).strip()


def _tenant_by_number(numbers: Iterable[str], tenants: Iterable[Tenant]) -> Tenant | None:
    for number in numbers:
        for tenant in tenants:
            region = tenant.default_region
            wanted = normalise_phone(number, region) or number
            if any((normalise_phone(own, region) or own) == wanted for own in tenant.sms_numbers):
                return tenant
    return None


def _params(raw: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as error:
        raise ParseError(f"Twilio body is not a valid form: {error}") from error


def _first(params: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in params:
        fields.setdefault(name, value)
    return fields


def _signature(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """``url`` as given, and with its scheme's default port added or removed."""
    variants = [url]
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return variants
    if default is None or not parts.netloc:
        return variants
    if port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    elif port == default:
        netloc = parts.netloc[: parts.netloc.rfind(":")]
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants
