"""Twilio Programmable Messaging: SMS, MMS and WhatsApp messages, and their status callbacks."""

import math
import re
from collections.abc import Iterable

from pydantic import ValidationError

from contracts import (
    Attachment,
    AttachmentKind,
    Business,
    Channel,
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    Content,
    ContentType,
    DeliveryStatus,
    Direction,
    Location,
    MessageEvent,
    Participant,
    Provider,
    Referral,
    StatusError,
    StatusEvent,
    Tenant,
    TenantDirectory,
    change_event_id,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, ParseResult
from ingest.webhooks.channels.twilio_signing import (
    params,
)
from matchers import extract_references, normalise_phone

_WHATSAPP = "whatsapp:"
_MEDIA_URL = re.compile(r"^MediaUrl(\d{1,3})$")
_INDEXED_FIELD = re.compile(r"^Media(?:Url|ContentType)\d{1,3}$")
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
#: WhatsApp ``MessageType`` values whose content this adapter reads (media by ``MediaUrlN``).
_MESSAGE_TYPES = frozenset(
    {"text", "image", "audio", "video", "document", "sticker", "location", "button", "interactive"}
)
#: ``OptOutType`` (Advanced Opt-Out on a Messaging Service); HELP changes no consent.
_OPT_OUT_TYPES: dict[str, ConsentStatus | None] = {
    "STOP": ConsentStatus.REVOKED,
    "START": ConsentStatus.GIVEN,
    "HELP": None,
}
#: Twilio's default English keywords on numbers without Advanced Opt-Out, matched against the
#: whole body (help.twilio.com article 223134027; docs/messaging/tutorials/advanced-opt-out).
_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"),
        ConsentStatus.REVOKED,
    ),
    **dict.fromkeys(("START", "UNSTOP", "YES"), ConsentStatus.GIVEN),
}
#: Every field this adapter reads, or knowingly leaves unread because the events carry it
#: elsewhere or it says nothing about the message. Any other field is a problem (the request
#: is dead-lettered as well), so nothing Twilio adds is dropped unseen.
_KNOWN_FIELDS = frozenset(
    {
        # Read: ids, routing, the message and its status.
        "MessageSid", "SmsMessageSid", "SmsSid", "AccountSid", "MessagingServiceSid",
        "From", "To", "Body", "NumMedia", "ProfileName", "ExternalUserId",
        "OriginalRepliedMessageSid", "OptOutType", "MessageType", "ButtonText", "ButtonPayload",
        "Latitude", "Longitude", "Address", "Label",
        "ReferralBody", "ReferralHeadline", "ReferralSourceId", "ReferralSourceType",
        "ReferralSourceUrl", "ReferralCtwaClid",
        "SmsStatus", "MessageStatus", "ErrorCode", "ErrorMessage",
        # Left unread: the API version, segment and referral-media counts, where the numbers
        # are registered (geo hints, not the person's location), the wa_id (From says it),
        # forwarding flags, ChannelMetadata (a JSON restatement of the fields above), and the
        # author of the message replied to (its stored message says it).
        "ApiVersion", "NumSegments", "ReferralNumMedia",
        "FromCity", "FromState", "FromZip", "FromCountry",
        "ToCity", "ToState", "ToZip", "ToCountry",
        "WaId", "Forwarded", "FrequentlyForwarded", "ChannelMetadata",
        "OriginalRepliedMessageSender",
        # Status callbacks: the carrier's delivery time, the channel restated (WhatsApp), and
        # EventType, which repeats MessageStatus.
        "RawDlrDoneDate", "ChannelInstallSid", "ChannelPrefix", "ChannelToAddress",
        "ChannelStatusMessage", "StructuredMessage", "EventType",
    }
)  # fmt: skip


def account_sid(raw: bytes) -> str | None:
    """The ``AccountSid`` the request names, or None (or when the body is unreadable)."""
    return _readable_fields(raw).get("AccountSid") or None


def numbers(raw: bytes) -> list[str]:
    """``To`` then ``From`` without the ``whatsapp:`` prefix: one of them is the tenant's own."""
    fields = _readable_fields(raw)
    found = (_strip_prefix(fields.get(name, "")) for name in ("To", "From"))
    return [number for number in found if number]


def find_tenant(raw: bytes, tenants: TenantDirectory) -> Tenant | None:
    """The tenant a request belongs to: by ``AccountSid``, else by ``MessagingServiceSid``
    (a tenant's ``twilio_messaging_service_sids``), else by its own number among the
    tenant's ``sms_numbers``, compared in E.164: ``To``, then ``From`` (some status callbacks
    carry no ``AccountSid``, and there the business is ``From``).

    The tenant found only proposes the secrets the signature must match, so a wrong guess
    is refused, not trusted.
    """
    fields = _readable_fields(raw)
    sid = fields.get("AccountSid")
    if sid:
        tenant = tenants.by_twilio_account_sid(sid)
        if tenant is not None:
            return tenant
    service = fields.get("MessagingServiceSid", "").strip()
    if service:
        for tenant in tenants.tenants:
            if service in tenant.twilio_messaging_service_sids:
                return tenant
    return _tenant_by_number(numbers(raw), tenants.tenants)


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The events of one request: an inbound message's MessageEvent (with a ConsentEvent when
    it is an opt-out or opt-in) or a status callback's StatusEvent.

    Pending statuses (queued, accepted, scheduled, sending) give no event. Whatever Twilio sent
    that this service does not read (a field, a ``MessageType``, an ``OptOutType``) is named in
    ``problems``, so the request is dead-lettered too while its events are published.
    """
    fields = _first(params(raw))
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
    result = ParseResult(problems=_unread_fields(fields))
    try:
        if is_message and (not status or status in _INBOUND_STATUSES):
            message = _message(fields, tenant, channel, context, result.problems)
            result.events.append(message)
            consent = _consent(fields, tenant, message, result.problems)
            if consent is not None:
                result.events.append(consent)
        elif status in _STATUSES:
            result.events.append(_status(fields, status, tenant, channel, context))
        elif status in _PENDING_STATUSES:
            pass
        elif status:
            result.problems.append(f"unknown Twilio message status {status!r}")
        else:
            result.problems.append("Twilio request is neither a message nor a status callback")
    except ValidationError as error:
        return ParseResult(problems=[f"Twilio request is not a valid event: {error}"])
    return result


def _message(
    fields: dict[str, str],
    tenant: Tenant,
    channel: Channel,
    context: ParseContext,
    problems: list[str],
) -> MessageEvent:
    sid = _message_sid(fields)
    external_user_id = _strip_prefix(fields.get("ExternalUserId", "")) or None
    sender = _strip_prefix(fields.get("From", ""))
    if not sender and not external_user_id:
        raise ParseError("Twilio message without From")
    business = _strip_prefix(fields.get("To", ""))
    if not business:
        raise ParseError("Twilio message without To")
    content = _content(fields, problems)
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
        participant=_participant(
            sender or external_user_id or "",
            tenant,
            channel,
            user_id=external_user_id,
            display_name=fields.get("ProfileName") or None,
        ),
        business=Business(channel_account_id=business),
        content=content,
        references=extract_references([content.text], tenant.reference_pattern),
    )


def _participant(
    address: str,
    tenant: Tenant,
    channel: Channel,
    *,
    user_id: str | None = None,
    display_name: str | None = None,
) -> Participant:
    """The customer known by ``address`` (a number, or on WhatsApp possibly the business-scoped
    user id itself: ``From=whatsapp:US.1234`` when the person shows no phone)."""
    phone = normalise_phone(address, tenant.default_region) if address else None
    if user_id is None and channel is Channel.WHATSAPP and phone is None:
        user_id = address or None
    return Participant(
        channel_user_id=phone or address,
        phone=phone,
        display_name=display_name,
        user_id=user_id,
    )


def _content(fields: dict[str, str], problems: list[str]) -> Content:
    body = fields.get("Body") or None
    kind = fields.get("MessageType", "").strip().lower()
    if kind and kind not in _MESSAGE_TYPES:
        problems.append(f"Twilio MessageType {kind!r} is not read by this service")
    attachments = _attachments(fields)
    content_type = ContentType.TEXT
    if attachments:
        content_type = _MEDIA_KINDS.get(attachments[0].kind, ContentType.DOCUMENT)
    text, payload, location = body, None, None
    if kind == "location" or "Latitude" in fields or "Longitude" in fields:
        location = _location(fields, problems)
        if location is not None:
            content_type = ContentType.LOCATION
            described = ", ".join(part for part in (location.name, location.address) if part)
            text = body or described or f"{location.latitude}, {location.longitude}"
    elif "ButtonPayload" in fields or "ButtonText" in fields:
        # A quick-reply button of a template (button) or of an interactive message; the
        # button's title is the text, as in the customer's chat.
        content_type = ContentType.INTERACTIVE if kind == "interactive" else ContentType.BUTTON
        text = fields.get("ButtonText") or body
        payload = fields.get("ButtonPayload") or None
    return Content(
        type=content_type,
        text=text,
        attachments=attachments,
        reply_to_provider_message_id=fields.get("OriginalRepliedMessageSid") or None,
        payload=payload,
        location=location,
        referral=_referral(fields),
    )


def _location(fields: dict[str, str], problems: list[str]) -> Location | None:
    try:
        latitude = float(fields.get("Latitude", ""))
        longitude = float(fields.get("Longitude", ""))
    except ValueError:
        latitude = longitude = math.nan
    if not (abs(latitude) <= 90 and abs(longitude) <= 180):  # also false for NaN
        problems.append("Twilio location without a readable Latitude and Longitude")
        return None
    return Location(
        latitude=latitude,
        longitude=longitude,
        name=fields.get("Label") or None,
        address=fields.get("Address") or None,
    )


def _referral(fields: dict[str, str]) -> Referral | None:
    """The click-to-WhatsApp ad the conversation started from, when there is one."""
    referral = Referral(
        source_type=fields.get("ReferralSourceType") or None,
        source_id=fields.get("ReferralSourceId") or None,
        source_url=fields.get("ReferralSourceUrl") or None,
        headline=fields.get("ReferralHeadline") or None,
        body=fields.get("ReferralBody") or None,
        ctwa_clid=fields.get("ReferralCtwaClid") or None,
    )
    return referral if referral != Referral() else None


def _consent(
    fields: dict[str, str], tenant: Tenant, message: MessageEvent, problems: list[str]
) -> ConsentEvent | None:
    """(v1.1) An opt-out or opt-in the message carries: Twilio's ``OptOutType`` when Advanced
    Opt-Out sent one, else, on SMS and when the tenant's ``sms_keyword_opt_out`` is on, a body
    that is one of Twilio's default keywords and nothing else (trimmed, any case)."""
    body = fields.get("Body", "")
    if "OptOutType" in fields:
        opt_out_type = fields["OptOutType"].strip().upper()
        if opt_out_type not in _OPT_OUT_TYPES:
            problems.append(f"Twilio OptOutType {opt_out_type!r} is not read by this service")
            return None
        status, source = _OPT_OUT_TYPES[opt_out_type], "twilio_opt_out_type"
    elif message.channel is Channel.SMS and tenant.sms_keyword_opt_out:
        status, source = _KEYWORDS.get(body.strip().upper()), "sms_keyword"
    else:
        return None
    if status is None:
        return None
    return ConsentEvent(
        event_id=change_event_id(
            "consent", message.channel, Provider.TWILIO, message.provider_message_id
        ),
        tenant_id=message.tenant_id,
        channel=message.channel,
        provider=Provider.TWILIO,
        occurred_at=message.occurred_at,
        received_at=message.received_at,
        participant=message.participant,
        business=message.business,
        topic=ConsentTopic.ALL,
        status=status,
        source=source,
        keyword=body or None,
        provider_message_id=message.provider_message_id,
    )


def _status(
    fields: dict[str, str], status: str, tenant: Tenant, channel: Channel, context: ParseContext
) -> StatusEvent:
    sid = _message_sid(fields)
    # A status concerns a message the business sent, so the customer is its recipient.
    customer = _strip_prefix(fields.get("To", ""))
    if not customer:
        raise ParseError("Twilio status callback without To")
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
        participant=_participant(customer, tenant, channel),
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


def _unread_fields(fields: dict[str, str]) -> list[str]:
    names = sorted(
        name for name in fields if name not in _KNOWN_FIELDS and not _INDEXED_FIELD.match(name)
    )
    return [f"Twilio fields this service does not read: {', '.join(names)}"] if names else []


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


def _readable_fields(raw: bytes) -> dict[str, str]:
    """The request's fields, or none when the body is not a readable form."""
    try:
        return _first(params(raw))
    except ParseError:
        return {}


def _first(params: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in params:
        fields.setdefault(name, value)
    return fields
