"""Mailgun inbound routes (``forward()``): a parsed email posted as a form."""

import hashlib
import hmac
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contracts import Provider
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, ParseResult
from ingest.webhooks.channels.email import InboundEmail, from_mime, to_result
from ingest.webhooks.channels.email_parsing import AttachmentMeta, Form, read_form

_ATTACHMENT_FIELD = re.compile(r"^attachment-(\d{1,4})$")


def verify(
    raw: bytes, headers: Headers, signing_key: str, now: datetime, max_age: timedelta
) -> bool:
    """Whether the body's ``signature`` signs its ``timestamp`` and ``token``, and is fresh.

    ``signature`` is hex HMAC-SHA256 of timestamp + token with the signing key; a timestamp
    further than ``max_age`` from ``now`` (timezone-aware, either way) is refused. Token
    reuse is the caller's check (see ``token``).
    """
    try:
        form = read_form(raw, headers)
    except ParseError:
        return False
    timestamp, token_value, signature = (
        (form.get(name) or "").strip() for name in ("timestamp", "token", "signature")
    )
    if not (timestamp and token_value and signature):
        return False
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        return False
    if abs(now - signed_at) > max_age:
        return False
    expected = hmac.new(
        signing_key.encode(), (timestamp + token_value).encode(), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def token(raw: bytes, headers: Headers) -> str | None:
    """The request's one-time ``token``, for the caller's replay cache."""
    try:
        value = read_form(raw, headers).get("token")
    except ParseError:
        return None
    return value.strip() if value and value.strip() else None


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The MessageEvent of a routed email, or a problem when no recipient is a tenant's."""
    form = read_form(raw, headers)
    envelope = [value for value in (form.get("recipient"),) if value]
    mime = form.field("body-mime")
    if mime is not None:
        # A route forwarding to a URL ending in "mime" posts the whole message instead.
        mail = replace(from_mime(mime.data), envelope_to=envelope)
        return to_result(mail, provider=Provider.MAILGUN, context=context)

    message_headers = _message_headers(form)

    def first(*names: str) -> str | None:
        for name in names:
            value = message_headers.get(name.lower()) or form.get(name)
            if value:
                return value
        return None

    mail = InboundEmail(
        sender=first("from", "From") or form.get("sender"),
        to=[value for value in (first("To"),) if value],
        cc=[value for value in (first("Cc"),) if value],
        envelope_to=envelope,
        subject=first("subject", "Subject"),
        text=form.get("body-plain"),
        stripped_text=form.get("stripped-text"),
        html=form.get("body-html"),
        attachments=_attachments(form),
        message_id=first("Message-Id"),
        in_reply_to=first("In-Reply-To"),
        references=first("References"),
        date=first("Date"),
    )
    return to_result(mail, provider=Provider.MAILGUN, context=context)


def _message_headers(form: Form) -> dict[str, str]:
    """The ``message-headers`` JSON (a list of [name, value]) by lower-case name, first wins."""
    try:
        pairs = json.loads(form.get("message-headers") or "[]")
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair):
            found.setdefault(pair[0].lower(), pair[1])
    return found


def _attachments(form: Form) -> list[AttachmentMeta]:
    numbered = []
    for field in form.fields:
        match = _ATTACHMENT_FIELD.match(field.name)
        if match is not None:
            numbered.append((int(match.group(1)), field))
    return [
        AttachmentMeta(
            filename=field.filename,
            mime_type=field.content_type,
            size=len(field.data),
            content=field.data,
        )
        for _, field in sorted(numbered, key=lambda item: item[0])
    ]
