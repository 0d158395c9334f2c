"""WhatsApp Cloud API webhooks: ``entry[].changes[]`` of messages, echoes and statuses."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import (
    Business,
    Channel,
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    Conversation,
    DeliveryStatus,
    Direction,
    EditAction,
    Group,
    IdentityChange,
    IdentityEvent,
    MessageEditEvent,
    MessageEvent,
    Participant,
    Pricing,
    Provider,
    StatusError,
    StatusEvent,
    Tenant,
    change_event_id,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels.base import Event, Headers, ParseContext, ParseResult
from ingest.webhooks.channels.meta import (
    ItemError,
    as_dict,
    as_id,
    as_list,
    as_str,
    collect,
    entries,
    from_unix_seconds,
    load_object,
    reference_texts,
)
from ingest.webhooks.channels.whatsapp_content import knows_type, message_content
from matchers import extract_references, normalise_wa_id

OBJECT = "whatsapp_business_account"
ECHO_FIELD = "smb_message_echoes"
PREFERENCES_FIELD = "user_preferences"
#: (v1.1) System notices that move a participant's identity.
_IDENTITY_CHANGES = {
    "user_changed_number": IdentityChange.NUMBER,
    "customer_changed_number": IdentityChange.NUMBER,
    "user_changed_user_id": IdentityChange.USER_ID,
}
#: (v1.1) ``user_preferences`` values: a marketing stop, or its resumption.
_PREFERENCES = {"stop": ConsentStatus.REVOKED, "resume": ConsentStatus.GIVEN}

_STATUSES = {status.value: status for status in DeliveryStatus}


@dataclass(frozen=True, slots=True)
class _Scope:
    """One ``changes[].value``: whose number it reached and the contacts it describes."""

    context: ParseContext
    tenant: Tenant
    phone_number_id: str
    business_digits: str
    contacts: list[dict[str, Any]]


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """Every message, echo and status in a WhatsApp webhook, one event each."""
    result = ParseResult()
    for position, entry in enumerate(entries(load_object(raw), OBJECT)):
        if not isinstance(entry, dict):
            result.problems.append(f"WhatsApp entry #{position} is not an object")
            continue
        for change in as_list(entry.get("changes")):
            _parse_change(as_dict(change), context, result)
    return result


def _parse_change(change: dict[str, Any], context: ParseContext, result: ParseResult) -> None:
    field = change.get("field")
    if field not in ("messages", ECHO_FIELD, PREFERENCES_FIELD):
        result.problems.append(f"unsupported WhatsApp field {field}")
        return
    value = as_dict(change.get("value"))
    metadata = as_dict(value.get("metadata"))
    phone_number_id = as_id(metadata.get("phone_number_id"))
    if phone_number_id is None:
        result.problems.append(f"WhatsApp {field} change has no metadata.phone_number_id")
        return
    tenant = context.tenants.by_whatsapp_phone_number_id(phone_number_id)
    if tenant is None:
        result.problems.append(f"unknown WhatsApp phone_number_id {phone_number_id}")
        return
    scope = _Scope(
        context=context,
        tenant=tenant,
        phone_number_id=phone_number_id,
        business_digits=_digits(metadata.get("display_phone_number")),
        contacts=[
            contact for contact in as_list(value.get("contacts")) if isinstance(contact, dict)
        ],
    )
    if field == ECHO_FIELD:
        for message in as_list(value.get("message_echoes")):
            _collect_message(scope, as_dict(message), result, echo=True)
        return
    if field == PREFERENCES_FIELD:
        for preference in as_list(value.get("user_preferences")):
            _collect_preference(scope, as_dict(preference), result)
        return
    for message in as_list(value.get("messages")):
        message = as_dict(message)
        # A message "from" the business's own number is one it sent from another app
        # sharing the number: an echo, whatever field it arrived on.
        echo = bool(scope.business_digits) and _digits(message.get("from")) == scope.business_digits
        _collect_message(scope, message, result, echo=echo)
    for status in as_list(value.get("statuses")):
        _collect_status(scope, as_dict(status), result)


def _collect_message(
    scope: _Scope, message: dict[str, Any], result: ParseResult, *, echo: bool
) -> None:
    label = f"WhatsApp {'echo' if echo else 'message'} {as_id(message.get('id')) or '(no id)'}"
    collect(result, label, lambda: [_message_event(scope, message, echo=echo)])


def _collect_preference(scope: _Scope, preference: dict[str, Any], result: ParseResult) -> None:
    label = f"WhatsApp user preference of {as_id(preference.get('wa_id')) or '(no wa_id)'}"
    collect(result, label, lambda: [_consent_event(scope, preference)])


def _collect_status(scope: _Scope, status: dict[str, Any], result: ParseResult) -> None:
    label = f"WhatsApp status {as_id(status.get('id')) or '(no id)'} ({status.get('status')})"
    collect(result, label, lambda: [_status_event(scope, status)])


def _message_event(scope: _Scope, message: dict[str, Any], *, echo: bool) -> Event:
    wamid = as_id(message.get("id"))
    if wamid is None:
        raise ItemError("has no id")
    if echo:
        participant = _participant(
            scope,
            wa_id=as_id(message.get("to")),
            user_id=as_id(message.get("to_user_id")) or as_id(message.get("recipient_user_id")),
        )
    else:
        participant = _participant(
            scope, wa_id=as_id(message.get("from")), user_id=as_id(message.get("from_user_id"))
        )
    kind = as_str(message.get("type"))
    if kind in ("edit", "revoke"):
        return _edit_event(scope, message, wamid, participant, kind)
    if kind == "system":
        return _identity_event(scope, message, wamid, participant)
    if not knows_type(kind):
        raise ItemError(f"has a message type this service does not know: {kind!r}")
    content = message_content(message)
    group_id = as_id(message.get("group_id"))
    # WhatsApp may deliver the message itself later under the same wamid (131060): the
    # placeholder has an id of its own, so the real message is not taken for a redelivery.
    event_key = f"{wamid}#unsupported" if kind == "unsupported" else wamid
    return MessageEvent(
        event_id=message_event_id(Channel.WHATSAPP, Provider.META, event_key),
        tenant_id=scope.tenant.id,
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        direction=Direction.OUTBOUND if echo else Direction.INBOUND,
        provider_message_id=wamid,
        occurred_at=_occurred_at(message),
        received_at=scope.context.received_at,
        participant=participant,
        business=Business(channel_account_id=scope.phone_number_id),
        content=content,
        references=extract_references(reference_texts(content), scope.tenant.reference_pattern),
        group=Group(id=group_id) if group_id else None,
    )


def _edit_event(
    scope: _Scope, message: dict[str, Any], wamid: str, participant: Participant, kind: str
) -> Event:
    """(v1.1) An ``edit`` (the new message inside it) or ``revoke`` of an earlier message."""
    node = as_dict(message.get(kind))
    target = as_id(node.get("original_message_id"))
    if target is None:
        raise ItemError(f"{kind} has no original_message_id")
    content = None
    if kind == "edit":
        edited = as_dict(node.get("message"))
        if not knows_type(as_str(edited.get("type"))):
            raise ItemError(
                f"edit carries a message type this service does not know: {edited.get('type')!r}"
            )
        content = message_content(edited)
    return MessageEditEvent(
        event_id=change_event_id("edit", Channel.WHATSAPP, Provider.META, wamid),
        tenant_id=scope.tenant.id,
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        provider_message_id=wamid,
        target_provider_message_id=target,
        action=EditAction.EDIT if kind == "edit" else EditAction.REVOKE,
        occurred_at=_occurred_at(message),
        received_at=scope.context.received_at,
        participant=participant,
        business=Business(channel_account_id=scope.phone_number_id),
        content=content,
    )


def _identity_event(
    scope: _Scope, message: dict[str, Any], wamid: str, participant: Participant
) -> Event:
    """(v1.1) A system notice that the person's number or user id changed; any other
    system notice has no meaning here and is refused by name."""
    node = as_dict(message.get("system"))
    notice = as_str(node.get("type"))
    change = _IDENTITY_CHANGES.get(notice or "")
    if change is None:
        raise ItemError(f"is a system message this service does not know: {notice!r}")
    new_wa_id = as_id(node.get("new_wa_id")) or as_id(node.get("wa_id"))
    new_user_id = as_id(node.get("new_user_id")) or as_id(node.get("user_id"))
    if change is IdentityChange.NUMBER and new_wa_id is None:
        raise ItemError(f"{notice} names no new wa_id")
    if change is IdentityChange.USER_ID and new_user_id is None:
        raise ItemError(f"{notice} names no new user_id")
    return IdentityEvent(
        event_id=change_event_id("identity", Channel.WHATSAPP, Provider.META, wamid),
        tenant_id=scope.tenant.id,
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        provider_message_id=wamid,
        change=change,
        occurred_at=_occurred_at(message),
        received_at=scope.context.received_at,
        participant=participant,
        business=Business(channel_account_id=scope.phone_number_id),
        new_channel_user_id=new_wa_id if change is IdentityChange.NUMBER else None,
        new_phone=normalise_wa_id(new_wa_id)
        if new_wa_id and change is IdentityChange.NUMBER
        else None,
        new_user_id=new_user_id if change is IdentityChange.USER_ID else None,
        description=as_str(node.get("body")),
    )


def _consent_event(scope: _Scope, preference: dict[str, Any]) -> Event:
    """(v1.1) A marketing-messages preference: ``stop`` revokes, ``resume`` gives."""
    category = as_str(preference.get("category"))
    if category != "marketing_messages":
        raise ItemError(f"has a preference category this service does not know: {category!r}")
    value = as_str(preference.get("value")) or ""
    status = _PREFERENCES.get(value)
    if status is None:
        raise ItemError(f"has a preference value this service does not know: {value!r}")
    participant = _participant(
        scope, wa_id=as_id(preference.get("wa_id")), user_id=as_id(preference.get("user_id"))
    )
    occurred_at = _occurred_at(preference)
    return ConsentEvent(
        event_id=change_event_id(
            "consent",
            Channel.WHATSAPP,
            Provider.META,
            participant.channel_user_id,
            category,
            value,
            str(int(occurred_at.timestamp())),
        ),
        tenant_id=scope.tenant.id,
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        occurred_at=occurred_at,
        received_at=scope.context.received_at,
        participant=participant,
        business=Business(channel_account_id=scope.phone_number_id),
        topic=ConsentTopic.MARKETING,
        status=status,
        source="whatsapp_user_preferences",
        keyword=value,
    )


def _status_event(scope: _Scope, status: dict[str, Any]) -> Event:
    name = as_str(status.get("status"))
    delivery_status = _STATUSES.get(name or "")
    if delivery_status is None:
        raise ItemError(f"unsupported WhatsApp status {name!r}")
    wamid = as_id(status.get("id"))
    if wamid is None:
        raise ItemError("has no id")
    participant = _participant(
        scope,
        wa_id=as_id(status.get("recipient_id")),
        user_id=as_id(status.get("recipient_user_id")),
    )
    return StatusEvent(
        event_id=status_event_id(Channel.WHATSAPP, Provider.META, wamid, delivery_status),
        tenant_id=scope.tenant.id,
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        provider_message_id=wamid,
        status=delivery_status,
        occurred_at=_occurred_at(status),
        received_at=scope.context.received_at,
        participant=participant,
        error=_status_error(status),
        pricing=_pricing(status),
        conversation=_conversation(status),
    )


def _pricing(status: dict[str, Any]) -> Pricing | None:
    node = as_dict(status.get("pricing"))
    if not node:
        return None
    billable = node.get("billable")
    return Pricing(
        billable=billable if isinstance(billable, bool) else None,
        pricing_model=as_str(node.get("pricing_model")),
        category=as_str(node.get("category")),
        type=as_str(node.get("type")),
    )


def _conversation(status: dict[str, Any]) -> Conversation | None:
    node = as_dict(status.get("conversation"))
    conversation_id = as_id(node.get("id"))
    if conversation_id is None:
        return None
    return Conversation(
        id=conversation_id,
        origin_type=as_str(as_dict(node.get("origin")).get("type")),
        expires_at=from_unix_seconds(node.get("expiration_timestamp")),
    )


def _participant(scope: _Scope, *, wa_id: str | None, user_id: str | None) -> Participant:
    """The customer, completed from the ``contacts[]`` entry naming the same wa_id or user id.

    Users with a username may come with an empty wa_id and only a business-scoped user id;
    either identifier alone is enough.
    """
    contact = _find_contact(scope.contacts, wa_id=wa_id, user_id=user_id)
    wa_id = wa_id or as_id(contact.get("wa_id"))
    user_id = user_id or as_id(contact.get("user_id"))
    channel_user_id = wa_id or user_id
    if channel_user_id is None:
        raise ItemError("has neither a wa_id nor a business-scoped user id")
    profile = as_dict(contact.get("profile"))
    return Participant(
        channel_user_id=channel_user_id,
        phone=normalise_wa_id(wa_id) if wa_id else None,
        user_id=user_id,
        display_name=as_str(profile.get("name")),
        username=as_str(profile.get("username")),
    )


def _find_contact(
    contacts: list[dict[str, Any]], *, wa_id: str | None, user_id: str | None
) -> dict[str, Any]:
    for contact in contacts:
        if wa_id is not None and as_id(contact.get("wa_id")) == wa_id:
            return contact
        if user_id is not None and as_id(contact.get("user_id")) == user_id:
            return contact
    return {}


def _status_error(status: dict[str, Any]) -> StatusError | None:
    errors = as_list(status.get("errors"))
    if not errors:
        return None
    first = as_dict(errors[0])
    code = as_id(first.get("code")) or "unknown"
    title = as_str(first.get("title")) or as_str(first.get("message")) or f"error {code}"
    return StatusError(code=code, title=title)


def _occurred_at(item: dict[str, Any]) -> datetime:
    occurred_at = from_unix_seconds(item.get("timestamp"))
    if occurred_at is None:
        raise ItemError(f"timestamp {item.get('timestamp')!r} is not Unix seconds")
    return occurred_at


def _digits(value: Any) -> str:
    return "".join(char for char in value if char.isdigit()) if isinstance(value, str) else ""
