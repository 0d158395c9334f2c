"""What a WhatsApp message says: its ``type`` and the object named after it, as Content."""

from collections.abc import Callable
from typing import Any

from contracts import (
    Attachment,
    AttachmentKind,
    Content,
    ContentType,
    Location,
    Reaction,
    Referral,
    SharedContact,
)
from ingest.webhooks.channels.meta import as_dict, as_id, as_list, as_str

_MEDIA = frozenset({"image", "audio", "video", "document", "sticker"})

_Fields = dict[str, Any]


def knows_type(kind: str | None) -> bool:
    """Whether ``message_content`` knows what a message of this ``type`` says. WhatsApp's own
    ``unsupported`` is known: the customer wrote something WhatsApp cannot show (131051,
    131060), which becomes a placeholder in its thread."""
    return kind in _MEDIA or kind in _BUILDERS


def message_content(message: dict[str, Any]) -> Content:
    """The Content of one ``messages[]`` (or ``message_echoes[]``) item of a known type.

    Orders and WhatsApp's ``unsupported`` become a message of type ``unsupported`` with a
    describing text: the customer did write.
    """
    kind = as_str(message.get("type")) or "unknown"
    fields = _media(message, kind) if kind in _MEDIA else _BUILDERS[kind](message, kind)
    context = as_dict(message.get("context"))
    return Content(
        **fields,
        reply_to_provider_message_id=as_id(context.get("id")),
        referral=_referral(message, context),
    )


def _text(message: dict[str, Any], kind: str) -> _Fields:
    return {"type": ContentType.TEXT, "text": as_str(as_dict(message.get("text")).get("body"))}


def _media(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get(kind))
    caption = as_str(node.get("caption"))
    attachment = Attachment(
        kind=AttachmentKind(kind),
        mime_type=as_str(node.get("mime_type")),
        provider_media_id=as_id(node.get("id")),
        url=as_str(node.get("url")),
        filename=as_str(node.get("filename")) if kind == "document" else None,
        caption=caption,
    )
    return {"type": ContentType(kind), "text": caption, "attachments": [attachment]}


def _location(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get("location"))
    location = Location(
        latitude=node.get("latitude"),
        longitude=node.get("longitude"),
        name=as_str(node.get("name")),
        address=as_str(node.get("address")),
        url=as_str(node.get("url")),
    )
    described = ", ".join(part for part in (location.name, location.address) if part)
    text = described or f"{location.latitude}, {location.longitude}"
    return {"type": ContentType.LOCATION, "text": text, "location": location}


def _contacts(message: dict[str, Any], kind: str) -> _Fields:
    cards = [_contact_card(as_dict(card)) for card in as_list(message.get("contacts"))]
    text = ", ".join(card.name for card in cards if card.name) or None
    return {"type": ContentType.CONTACTS, "text": text, "contacts": cards}


def _contact_card(card: dict[str, Any]) -> SharedContact:
    name = as_dict(card.get("name"))
    parts = (as_str(name.get("first_name")), as_str(name.get("last_name")))
    return SharedContact(
        name=as_str(name.get("formatted_name")) or " ".join(part for part in parts if part),
        phones=_values(card.get("phones"), "phone"),
        emails=_values(card.get("emails"), "email"),
    )


def _values(items: Any, key: str) -> list[str]:
    found = (as_str(as_dict(item).get(key)) for item in as_list(items))
    return [value for value in found if value]


def _reaction(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get("reaction"))
    # Meta omits the emoji (or sends "") when the customer removes a reaction.
    emoji = as_str(node.get("emoji")) or ""
    reaction = Reaction(emoji=emoji, target_provider_message_id=as_id(node.get("message_id")))
    return {"type": ContentType.REACTION, "text": emoji or None, "reaction": reaction}


def _interactive(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get("interactive"))
    reply_type = as_str(node.get("type")) or ""
    reply = as_dict(node.get(reply_type))
    if reply_type == "nfm_reply":
        # A WhatsApp Flow's answer: the form's fields arrive as a JSON string.
        text = as_str(reply.get("body")) or as_str(reply.get("name"))
        payload = as_str(reply.get("response_json"))
    else:
        parts = (as_str(reply.get("title")), as_str(reply.get("description")))
        text = "\n".join(part for part in parts if part) or None
        payload = as_id(reply.get("id"))
    return {"type": ContentType.INTERACTIVE, "text": text, "payload": payload}


def _button(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get("button"))
    return {
        "type": ContentType.BUTTON,
        "text": as_str(node.get("text")),
        "payload": as_str(node.get("payload")),
    }


def _order(message: dict[str, Any], kind: str) -> _Fields:
    node = as_dict(message.get("order"))
    text = f"Order of {len(as_list(node.get('product_items')))} product(s)"
    note = as_str(node.get("text"))
    return {"type": ContentType.UNSUPPORTED, "text": f"{text}: {note}" if note else text}


def _unsupported(message: dict[str, Any], kind: str) -> _Fields:
    errors = as_list(message.get("errors"))
    error = as_dict(errors[0]) if errors else {}
    detail = (
        as_str(as_dict(error.get("error_data")).get("details"))
        or as_str(error.get("title"))
        or as_str(error.get("message"))
    )
    text = "A message WhatsApp cannot show here"
    return {"type": ContentType.UNSUPPORTED, "text": f"{text}: {detail}" if detail else text}


def _referral(message: dict[str, Any], context: dict[str, Any]) -> Referral | None:
    """A click-to-WhatsApp ad (``referral``) and/or a product asked about (``referred_product``)."""
    ad = as_dict(message.get("referral"))
    product = as_dict(context.get("referred_product"))
    if not ad and not product:
        return None
    return Referral(
        source_type=as_str(ad.get("source_type")),
        source_id=as_id(ad.get("source_id")),
        source_url=as_str(ad.get("source_url")),
        headline=as_str(ad.get("headline")),
        body=as_str(ad.get("body")),
        ctwa_clid=as_str(ad.get("ctwa_clid")),
        catalog_id=as_id(product.get("catalog_id")),
        product_retailer_id=as_id(product.get("product_retailer_id")),
    )


_BUILDERS: dict[str, Callable[[dict[str, Any], str], _Fields]] = {
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    "unsupported": _unsupported,
}
