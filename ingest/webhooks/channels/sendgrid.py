"""SendGrid Inbound Parse: an email posted as multipart form, parsed or as raw MIME.

A Parse webhook with a security policy signs each post: ``X-Twilio-Email-Event-Webhook-Signature``
is the base64 DER ECDSA signature (P-256, SHA-256) of the ``...-Timestamp`` header's value
followed by the raw body, checked with the policy's public key (base64 DER, as SendGrid shows
it, or PEM). SendGrid documents no timestamp tolerance and retries a refused post for days,
so the timestamp is signed but its age not checked: a replayed post carries the same email,
hence the same event id, and stores nothing new.
"""

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from contracts import Provider, TenantDirectory
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, ParseResult
from ingest.webhooks.channels.email import InboundEmail, from_mime, recipient_tenants, to_result
from ingest.webhooks.channels.email_parsing import (
    AttachmentMeta,
    Form,
    FormField,
    header,
    header_values,
    parse_header_block,
    parse_message_headers,
    read_form,
)

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"

_ATTACHMENT_FIELD = re.compile(r"^attachment(\d{1,4})$")

#: A form field by name, as text.
_FieldText = Callable[[str], str | None]


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """The MessageEvent of a parsed email, or a problem when no recipient is a tenant's."""
    form = read_form(raw, headers)
    return to_result(_mail(form), provider=Provider.SENDGRID, context=context)


def verify(raw: bytes, headers: Headers, public_key: str) -> bool:
    """Whether the request carries a signature of its timestamp and raw body that
    ``public_key`` verifies; False when either header is missing or the key is not P-256."""
    key = _public_key(public_key)
    signature = headers.get(SIGNATURE_HEADER, "").strip()
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    if key is None or not signature or not timestamp:
        return False
    try:
        der = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    # Header values arrive as latin-1 text: encoding them back gives the bytes that were signed.
    try:
        key.verify(der, timestamp.encode("latin-1") + raw, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def is_public_key(text: str) -> bool:
    """Whether ``text`` is a P-256 public key in one of the forms ``verify`` accepts."""
    return _public_key(text) is not None


def signing_keys(raw: bytes, headers: Headers, tenants: TenantDirectory) -> list[str]:
    """The public keys a request must verify with, every one of them.

    Those of the tenants its recipients name (the adapter's routing). A request that names no
    tenant, or whose form cannot be read, could be for any tenant (a replay after the tenants
    file changes routes it without checking again), so every configured key applies; and two
    different keys are never both satisfied, so an ambiguous request is refused, not guessed.
    """
    try:
        to, cc, envelope_to = _addressing(read_form(raw, headers))
    except ParseError:
        named = []
    else:
        mail = InboundEmail(sender=None, to=to, cc=cc, envelope_to=envelope_to)
        named = recipient_tenants(mail, tenants)
    candidates = named or tenants.tenants
    keys = (tenant.sendgrid_public_key for tenant in candidates)
    return list(dict.fromkeys(key for key in keys if key))


@functools.lru_cache(maxsize=256)
def _public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    try:
        if "-----BEGIN" in text:
            # An environment variable may hold a PEM key with its line breaks written as \n.
            key = load_pem_public_key(text.replace("\\n", "\n").encode())
        else:
            key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def _mail(form: Form) -> InboundEmail:
    """The email a form carries; its addressing is ``_addressing``'s, so routing the request
    for its signature and parsing it agree."""
    to, cc, envelope_to = _addressing(form)
    raw_email = form.field("email")
    if raw_email is not None:
        # "Send raw" mode: the whole MIME message in one field, everything else is a summary.
        return replace(from_mime(raw_email.data), to=to, cc=cc, envelope_to=envelope_to)

    text = _texts(form)
    block = parse_header_block(text("headers") or "")
    return InboundEmail(
        sender=text("from") or header(block, "From"),
        to=to,
        cc=cc,
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


def _addressing(form: Form) -> tuple[list[str], list[str], list[str]]:
    """To, Cc and the SMTP envelope's recipients; in raw mode To and Cc are the MIME headers',
    read without parsing the rest of the message."""
    recipients = _json_object(form.get("envelope")).get("to")
    envelope_to = (
        [item for item in recipients if isinstance(item, str)]
        if isinstance(recipients, list)
        else []
    )
    raw_email = form.field("email")
    if raw_email is not None:
        message = parse_message_headers(raw_email.data)
        return header_values(message, "To"), header_values(message, "Cc"), envelope_to
    text = _texts(form)
    block = parse_header_block(text("headers") or "")
    to = text("to") or header(block, "To")
    cc = text("cc") or header(block, "Cc")
    return [to] if to else [], [cc] if cc else [], envelope_to


def _texts(form: Form) -> _FieldText:
    """Reads a field as text in the charset SendGrid's ``charsets`` JSON names for it."""
    charsets = {
        name: value
        for name, value in _json_object(form.get("charsets")).items()
        if isinstance(value, str)
    }

    def text(name: str) -> str | None:
        return form.get(name, charsets.get(name))

    return text


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
                content=part.data if part else None,
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
