"""Postmark inbound: a parsed email posted as JSON, with the raw MIME in ``RawEmail`` when
the server's "include raw email content" setting is on."""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from contracts import Provider
from ingest.webhooks.channels.base import (
    Headers,
    ParseContext,
    ParseError,
    ParseResult,
    load_json,
)
from ingest.webhooks.channels.email import InboundEmail, from_mime, to_result
from ingest.webhooks.channels.email_parsing import AttachmentMeta


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The MessageEvent of an inbound email, or a problem when no recipient is a tenant's.

    The top-level ``MessageID`` is Postmark's own id, used only when the email has no
    ``Message-ID`` header. Threading headers and the ``Date`` (when there is no ``Date``
    field) come from ``Headers[]``; whatever is still missing, from ``RawEmail``.
    """
    try:
        payload = load_json(raw)
    except (ValueError, RecursionError) as error:
        raise ParseError(f"Postmark body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise ParseError("Postmark body is not a JSON object")

    listed = _listed_headers(payload)
    from_full = payload.get("FromFull")
    mail = InboundEmail(
        sender=(_mailbox(from_full) if isinstance(from_full, Mapping) else "")
        or _text(payload, "From"),
        to=_mailboxes(payload, "ToFull", "To"),
        cc=_mailboxes(payload, "CcFull", "Cc"),
        envelope_to=[
            *_mailboxes(payload, "BccFull", "Bcc"),
            *[value for value in (_text(payload, "OriginalRecipient"),) if value],
        ],
        subject=_text(payload, "Subject"),
        text=_text(payload, "TextBody"),
        stripped_text=_text(payload, "StrippedTextReply"),
        html=_text(payload, "HtmlBody"),
        attachments=_attachments(payload.get("Attachments")),
        message_id=listed.get("message-id"),
        provider_id=_text(payload, "MessageID"),
        in_reply_to=listed.get("in-reply-to"),
        references=listed.get("references"),
        date=_text(payload, "Date") or listed.get("date"),
        extra_references=[value for value in (_text(payload, "MailboxHash"),) if value],
    )
    raw_email = _text(payload, "RawEmail")
    if raw_email is not None and _incomplete(mail):
        mail = _completed(mail, from_mime(raw_email.encode("utf-8", errors="replace")))
    return to_result(mail, provider=Provider.POSTMARK, context=context)


def _listed_headers(payload: Mapping[str, Any]) -> dict[str, str]:
    """``Headers[]`` ({Name, Value}) by lower-case name, the first non-empty value of each."""
    found: dict[str, str] = {}
    items = payload.get("Headers")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            name, value = item.get("Name"), item.get("Value")
            if isinstance(name, str) and isinstance(value, str) and value.strip():
                found.setdefault(name.strip().lower(), value)
    return found


def _incomplete(mail: InboundEmail) -> bool:
    """Whether the parsed fields lack what the event needs, so ``RawEmail`` is worth parsing:
    the sender, a header recipient, a body, the date or the Message-ID."""
    return not (
        mail.sender
        and (mail.to or mail.cc)
        and (mail.text or mail.html)
        and mail.date
        and mail.message_id
    )


def _completed(mail: InboundEmail, raw: InboundEmail) -> InboundEmail:
    """``mail`` with each empty field taken from the raw message's (Postmark's own fields,
    such as the envelope recipients and MessageID, stay as they are)."""
    missing = {
        field.name: getattr(raw, field.name)
        for field in fields(mail)
        if not getattr(mail, field.name) and getattr(raw, field.name)
    }
    return replace(mail, **missing)


def _mailboxes(payload: Mapping[str, Any], full: str, plain: str) -> list[str]:
    """Mailboxes from the structured ``*Full`` list, else from the header string."""
    entries = payload.get(full)
    if isinstance(entries, list) and entries:
        return [box for entry in entries if isinstance(entry, Mapping) if (box := _mailbox(entry))]
    value = _text(payload, plain)
    return [value] if value else []


def _mailbox(entry: Mapping[str, Any]) -> str:
    address, name = entry.get("Email"), entry.get("Name")
    if not isinstance(address, str) or not address.strip():
        return ""
    if not isinstance(name, str) or not name.strip():
        return address.strip()
    # Quoted by hand: formataddr would RFC 2047-encode a non-ASCII name, which parseaddr keeps.
    quoted = name.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address.strip()}>'


def _attachments(items: object) -> list[AttachmentMeta]:
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        size = item.get("ContentLength")
        found.append(
            AttachmentMeta(
                filename=_text(item, "Name"),
                mime_type=_text(item, "ContentType"),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                content=_decoded(item.get("Content")),
            )
        )
    return found


def _decoded(content: object) -> bytes | None:
    """An attachment's ``Content`` (base64), or None when it is missing or not base64."""
    if not isinstance(content, str):
        return None
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) and value.strip() else None
