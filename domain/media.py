"""(v1.1) Which attachments have a file to keep, where it is fetched from, and when a failed
fetch is tried again."""

from collections.abc import Mapping
from datetime import datetime, timedelta

from contracts import Attachment, AttachmentKind, Channel, MessageEvent, Provider, attachment_id
from domain.documents import MediaDocument

#: Kinds that are a place or a link, not a file.
_NO_FILE = frozenset({AttachmentKind.LOCATION, AttachmentKind.SHARE})


def source_of(channel: str, provider: str, attachment: Attachment) -> tuple[str, str | None] | None:
    """How the attachment's file is fetched (``domain.documents.MediaDocument.source``) and
    from where, or None when it has no file."""
    if attachment.kind in _NO_FILE:
        return None
    if attachment.provider_media_id and attachment.provider_media_id.startswith("upload:"):
        # (v1.1) A reply's attachment: a file staff uploaded, stored already.
        return "upload", attachment.provider_media_id.removeprefix("upload:")
    if channel == Channel.EMAIL:
        return "email", None
    if provider == Provider.TWILIO and attachment.url:
        return "twilio", attachment.url
    if channel == Channel.WHATSAPP and attachment.provider_media_id:
        return "graph", attachment.provider_media_id
    if attachment.url:
        return "url", attachment.url
    return None


def attachment_states(
    message_id: str,
    channel: str,
    provider: str,
    attachments: list[Attachment],
    recorded: Mapping[str, MediaDocument],
) -> list[str | None]:
    """Each attachment's file state as the API shows it: its record's, ``pending`` while it
    has none yet, None for an attachment without a file."""
    states: list[str | None] = []
    for index, attachment in enumerate(attachments):
        if source_of(channel, provider, attachment) is None:
            states.append(None)
            continue
        record = recorded.get(attachment_id(message_id, index))
        states.append(record.get("state", "pending") if record else "pending")
    return states


def media_documents(
    event: MessageEvent, *, now: datetime, max_bytes: int, email_wait: timedelta
) -> list[MediaDocument]:
    """A record for each attachment of ``event`` that has a file: due now, or, for an email
    (whose chunks are on their way), checked after ``email_wait``."""
    documents: list[MediaDocument] = []
    for index, attachment in enumerate(event.content.attachments):
        found = source_of(event.channel, event.provider, attachment)
        if found is None:
            continue
        source, locator = found
        document: MediaDocument = {
            "_id": attachment_id(event.event_id, index),
            "tenant_id": event.tenant_id,
            "message_id": str(event.event_id),
            "index": index,
            "channel": str(event.channel),
            "source": source,
            "locator": locator,
            "mime_type": attachment.mime_type,
            "filename": attachment.filename,
            "state": "pending",
            "reason": None,
            "attempts": 0,
            "next_attempt_at": now + email_wait if source == "email" else now,
            "created_at": now,
            "updated_at": now,
        }
        if attachment.size is not None and attachment.size > max_bytes:
            document |= {
                "state": "unavailable",
                "reason": f"larger than MEDIA_MAX_BYTES ({attachment.size} > {max_bytes} bytes)",
                "next_attempt_at": None,
            }
        documents.append(document)
    return documents


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failed fetch: ``first``, then twice as long each."""
    factor: int = 2 ** max(attempts - 1, 0)
    return first * factor
