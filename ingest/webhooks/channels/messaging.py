"""The ``entry[].messaging[]`` webhook format Messenger and Instagram share.

Each messaging item carries exactly one kind of event (message, postback, reaction, delivery,
read) between a ``sender`` and a ``recipient``; one of the two is the business's page or
account, the other the customer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts import (
    Business,
    Channel,
    Content,
    ContentType,
    DeliveryStatus,
    Direction,
    EditAction,
    MessageEditEvent,
    MessageEvent,
    Participant,
    Provider,
    StatusEvent,
    Tenant,
    TenantDirectory,
    change_event_id,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels.base import Event, ParseContext, ParseResult
from ingest.webhooks.channels.messaging_content import (
    message_content,
    postback_content,
    reaction_content,
)
from ingest.webhooks.channels.meta import (
    ItemError,
    as_dict,
    as_id,
    as_list,
    as_str,
    collect,
    entries,
    load_object,
    millis_to_datetime,
    reference_texts,
    to_epoch_millis,
)
from matchers import extract_references


@dataclass(frozen=True, slots=True)
class MessagingChannel:
    """What differs between Messenger and Instagram: the names, and how a tenant is found."""

    channel: Channel
    object: str
    account_name: str
    find_tenant: Callable[[TenantDirectory, str], Tenant | None]


@dataclass(frozen=True, slots=True)
class _Item:
    """One messaging item, with its tenant and customer already worked out."""

    spec: MessagingChannel
    context: ParseContext
    tenant: Tenant
    business_id: str
    customer_id: str
    data: dict[str, Any]
    entry_time: Any


_Handler = Callable[[_Item], list[Event]]

#: Standby items are those another app (a handover-protocol owner) is answering; they are
#: still the customer's messages, so they are normalised the same way.
_ITEM_LISTS = ("messaging", "standby")
_ENVELOPE = frozenset({"sender", "recipient", "timestamp"})


def parse_messaging(raw: bytes, context: ParseContext, spec: MessagingChannel) -> ParseResult:
    """Every message, postback, reaction and receipt in a Messenger or Instagram webhook."""
    result = ParseResult()
    unknown: set[str] = set()
    for position, entry in enumerate(entries(load_object(raw), spec.object)):
        if not isinstance(entry, dict):
            result.problems.append(f"{spec.channel} entry #{position} is not an object")
            continue
        for key in _ITEM_LISTS:
            for data in as_list(entry.get(key)):
                _parse_item(spec, context, entry, as_dict(data), result, unknown)
        for change in as_list(entry.get("changes")):
            field = as_dict(change).get("field")
            result.problems.append(f"unsupported {spec.channel} event {field}")
    return result


def _parse_item(
    spec: MessagingChannel,
    context: ParseContext,
    entry: dict[str, Any],
    data: dict[str, Any],
    result: ParseResult,
    unknown: set[str],
) -> None:
    kind = _kind(data)
    sender = _party(data.get("sender"))
    recipient = _party(data.get("recipient"))
    echo = kind == "message" and as_dict(data.get("message")).get("is_echo") is True
    business_id = as_id(entry.get("id")) or (sender if echo else recipient)
    if business_id is None:
        result.problems.append(f"{spec.channel} {kind} names no {spec.account_name}")
        return
    tenant = spec.find_tenant(context.tenants, business_id)
    if tenant is None:
        # One reason per id: a batch for an unknown account would otherwise repeat it per item.
        if business_id not in unknown:
            unknown.add(business_id)
            result.problems.append(f"unknown {spec.account_name} {business_id}")
        return
    label = f"{spec.channel} {kind} from {sender} at {data.get('timestamp')}"
    handler = _HANDLERS.get(kind)
    if handler is None:
        result.problems.append(f"unsupported {spec.channel} event {kind}")
        return
    # An echo is sent by the business, so the customer is the recipient. Some relays keep
    # the customer as sender even on echoes; never take the business for its own customer.
    customer = recipient if echo and recipient != business_id else sender
    if customer is None:
        result.problems.append(f"{label}: names no customer id")
        return
    item = _Item(spec, context, tenant, business_id, customer, data, entry.get("time"))
    collect(result, label, lambda: handler(item))


def _kind(data: dict[str, Any]) -> str:
    for kind in _HANDLERS:
        if kind in data:
            return kind
    others = [key for key in data if key not in _ENVELOPE]
    return others[0] if others else "without a kind"


def _party(value: Any) -> str | None:
    """A sender's or recipient's id; plugin entry points give a ``user_ref`` instead."""
    party = as_dict(value)
    return as_id(party.get("id")) or as_id(party.get("user_ref"))


def _message(item: _Item) -> list[Event]:
    message = as_dict(item.data.get("message"))
    mid = as_id(message.get("mid"))
    if mid is None:
        raise ItemError("message has no mid")
    content = message_content(message, item.data.get("referral"))
    # An unsend carries the mid of the message it removes. With the same event id it would
    # be taken for a redelivery of that message and dropped, so it gets an id of its own.
    event_key = f"{mid}#deleted" if content.deleted else mid
    echo = message.get("is_echo") is True
    direction = Direction.OUTBOUND if echo else Direction.INBOUND
    return [_message_event(item, mid, content, direction, event_key=event_key)]


def _postback(item: _Item) -> list[Event]:
    postback = as_dict(item.data.get("postback"))
    millis = _instant(item)
    # Postbacks before 2020 carry no mid; this id is the same each time Meta redelivers one.
    mid = as_id(postback.get("mid")) or f"postback:{item.customer_id}:{millis}"
    content = postback_content(postback, item.data.get("referral"))
    return [_message_event(item, mid, content, Direction.INBOUND)]


def _reaction(item: _Item) -> list[Event]:
    reaction = as_dict(item.data.get("reaction"))
    content = reaction_content(reaction)
    action = as_id(reaction.get("action")) or "react"
    # Reactions have no mid of their own; each react or unreact is a distinct event.
    target = content.reaction.target_provider_message_id if content.reaction else None
    mid = f"reaction:{target}:{item.customer_id}:{action}:{_instant(item)}"
    return [_message_event(item, mid, content, Direction.INBOUND)]


def _message_edit(item: _Item) -> list[Event]:
    """(v1.1) The customer edited a message: its new text, applied to the original."""
    edit = as_dict(item.data.get("message_edit"))
    mid = as_id(edit.get("mid"))
    if mid is None:
        raise ItemError("message_edit has no mid")
    text = as_str(edit.get("text"))
    if text is None:
        raise ItemError("message_edit has no text")
    # Each edit of a message is numbered; the number tells one edit from the next.
    number = as_id(edit.get("num_edit")) or str(_instant(item))
    channel = item.spec.channel
    edit_id = f"{mid}:edit:{number}"
    return [
        MessageEditEvent(
            event_id=change_event_id("edit", channel, Provider.META, edit_id),
            tenant_id=item.tenant.id,
            channel=channel,
            provider=Provider.META,
            provider_message_id=edit_id,
            target_provider_message_id=mid,
            action=EditAction.EDIT,
            occurred_at=millis_to_datetime(_instant(item)),
            received_at=item.context.received_at,
            participant=Participant(channel_user_id=item.customer_id),
            business=Business(channel_account_id=item.business_id),
            content=Content(type=ContentType.TEXT, text=text),
        )
    ]


def _delivery(item: _Item) -> list[Event]:
    delivery = as_dict(item.data.get("delivery"))
    mids = [mid for mid in (as_id(value) for value in as_list(delivery.get("mids"))) if mid]
    return _receipts(item, DeliveryStatus.DELIVERED, mids, delivery.get("watermark"))


def _read(item: _Item) -> list[Event]:
    read = as_dict(item.data.get("read"))
    mid = as_id(read.get("mid"))
    return _receipts(item, DeliveryStatus.READ, [mid] if mid else [], read.get("watermark"))


def _receipts(
    item: _Item, status: DeliveryStatus, mids: list[str], raw_watermark: Any
) -> list[Event]:
    """One status per named message; without names, one covering all up to the watermark."""
    watermark = to_epoch_millis(raw_watermark)
    # Meta sends timestamp 0 on some delivery receipts; the watermark is then the best time.
    millis = _instant(item, fallback=watermark)
    if mids:
        return [_status_event(item, mid, status, millis, watermark=None) for mid in mids]
    if watermark is None:
        raise ItemError(f"{status} receipt has neither mids nor a watermark")
    return [_status_event(item, f"watermark:{watermark}", status, millis, watermark=watermark)]


def _message_event(
    item: _Item,
    provider_message_id: str,
    content: Content,
    direction: Direction,
    *,
    event_key: str | None = None,
) -> MessageEvent:
    channel = item.spec.channel
    return MessageEvent(
        event_id=message_event_id(channel, Provider.META, event_key or provider_message_id),
        tenant_id=item.tenant.id,
        channel=channel,
        provider=Provider.META,
        direction=direction,
        provider_message_id=provider_message_id,
        occurred_at=millis_to_datetime(_instant(item)),
        received_at=item.context.received_at,
        participant=Participant(channel_user_id=item.customer_id),
        business=Business(channel_account_id=item.business_id),
        content=content,
        references=extract_references(reference_texts(content), item.tenant.reference_pattern),
    )


def _status_event(
    item: _Item,
    provider_message_id: str,
    status: DeliveryStatus,
    millis: int,
    *,
    watermark: int | None,
) -> StatusEvent:
    channel = item.spec.channel
    return StatusEvent(
        event_id=status_event_id(channel, Provider.META, provider_message_id, status),
        tenant_id=item.tenant.id,
        channel=channel,
        provider=Provider.META,
        provider_message_id=provider_message_id,
        status=status,
        occurred_at=millis_to_datetime(millis),
        received_at=item.context.received_at,
        participant=Participant(channel_user_id=item.customer_id),
        watermark=None if watermark is None else millis_to_datetime(watermark),
    )


def _instant(item: _Item, *, fallback: int | None = None) -> int:
    """When the item happened, in epoch milliseconds: its timestamp, else ``fallback``,
    else the entry's ``time`` (when Meta sent the batch, moments later)."""
    millis = to_epoch_millis(item.data.get("timestamp"))
    millis = millis or fallback or to_epoch_millis(item.entry_time)
    if millis is None:
        raise ItemError(f"timestamp {item.data.get('timestamp')!r} is not epoch milliseconds")
    return millis


_HANDLERS: dict[str, _Handler] = {
    "message": _message,
    "postback": _postback,
    "reaction": _reaction,
    "delivery": _delivery,
    "read": _read,
    "message_edit": _message_edit,
}
