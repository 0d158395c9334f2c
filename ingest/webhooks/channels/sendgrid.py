"""SendGrid Inbound Parse: an email posted as multipart form, parsed or as raw MIME."""

import json
import re
from dataclasses import replace
from typing import Any

from contracts import Provider
from ingest.webhooks.channels.base import Headers, ParseContext, ParseResult
from ingest.webhooks.channels.email import InboundEmail, from_mime, to_result
from ingest.webhooks.channels.email_parsing import (
    AttachmentMeta,
    Form,
    FormField,
    header,
    parse_header_block,
    read_form,
)

_ATTACHMENT_FIELD = re.compile(r"^attachment(\d{1,4})$")


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The MessageEvent of a parsed email, or a problem when no recipient is a tenant's."""
    form = read_form(raw, headers)
    envelope = _json_object(form.get("envelope"))
    recipients = envelope.get("to")
    envelope_to = (
        [item for item in recipients if isinstance(item, str)]
        if isinstance(recipients, list)
        else []
    )
    raw_email = form.field("email")
    if raw_email is not None:
        # "Send raw" mode: the whole MIME message in one field, everything else is a summary.
        mail = replace(from_mime(raw_email.data), envelope_to=envelope_to)
        return to_result(mail, provider=Provider.SENDGRID, context=context)

    charsets = {
        name: value
        for name, value in _json_object(form.get("charsets")).items()
        if isinstance(value, str)
    }

    def text(name: str) -> str | None:
        return form.get(name, charsets.get(name))

    block = parse_header_block(text("headers") or "")
    mail = InboundEmail(
        sender=text("from") or header(block, "From"),
        to=[value for value in (text("to") or header(block, "To"),) if value],
        cc=[value for value in (text("cc") or header(block, "Cc"),) if value],
        envelope_to=envelope_to,
        subject=text("subject") or header(block, "Subject"),
        text=text("text"),
        html=text("html"),
        attachments=_attachments(form),
        message_id=header(block, "Message-ID"),
        in_reply_to=header(block, "In-Reply-To"),
        references=header(block, "References"),
        date=header(block, "Date"),
    )
    return to_result(mail, provider=Provider.SENDGRID, context=context)


def _attachments(form: Form) -> list[AttachmentMeta]:
    """``attachment1..N`` file parts, completed by the ``attachment-info`` JSON."""
    info = _json_object(form.get("attachment-info"))
    files: dict[str, FormField] = {
        field.name: field for field in form.fields if _ATTACHMENT_FIELD.match(field.name)
    }
    names = {name for name in info if _ATTACHMENT_FIELD.match(name)} | set(files)
    found = []
    for name in sorted(names, key=lambda item: int(item.removeprefix("attachment"))):
        details = info.get(name)
        described: dict[str, Any] = details if isinstance(details, dict) else {}
        part = files.get(name)
        filename = (part.filename if part else None) or _text(described.get("filename"))
        found.append(
            AttachmentMeta(
                filename=filename or _text(described.get("name")),
                mime_type=(part.content_type if part else None) or _text(described.get("type")),
                size=len(part.data) if part else None,
            )
        )
    return found


def _json_object(value: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if value else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
