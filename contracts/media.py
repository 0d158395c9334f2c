"""(v1.1) Media that travels on the event log: the bytes of an email's attachments.

A WhatsApp, Twilio, Messenger or Instagram attachment is fetched from its provider when the
message is stored. An email's attachments arrive inside the email, at the gateway, which
must answer the provider without waiting for MongoDB: it publishes their bytes to
``chat.media.v1`` before answering, in chunks of ``CHUNK_BYTES`` (each record well under
Kafka's default record limit), and the media worker writes each chunk as it comes.
"""

import base64
import hashlib
from typing import ClassVar
from uuid import UUID, uuid5

from pydantic import Field

from contracts.base import ContractModel
from contracts.types import Identifier

#: Bytes per chunk: the chunk size of the GridFS files they become, so each chunk is written
#: once, where it belongs, whatever the order or number of times it arrives.
CHUNK_BYTES = 256 * 1024

_NAMESPACE = UUID("0b5f3c52-3e64-4a55-8b0e-6a2f27a1c0d1")


def attachment_id(message_event_id: UUID | str, index: int) -> str:
    """The id of a message's attachment (its stored file's id): ``{message}:{index}``."""
    return f"{message_event_id}:{index}"


def media_chunk_id(attachment: str, part: int) -> UUID:
    return uuid5(_NAMESPACE, f"{attachment}#{part}")


class MediaChunkEvent(ContractModel):
    """One chunk of an attachment's bytes (``data_base64``), ``part`` of ``parts``."""

    SCHEMA: ClassVar[str] = "chat.media_chunk/1"

    event_id: UUID
    tenant_id: Identifier
    #: The message event the attachment belongs to, and its index in ``content.attachments``.
    message_event_id: UUID
    index: int = Field(ge=0)
    part: int = Field(ge=0)
    parts: int = Field(ge=1)
    #: Of the whole file.
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_type: str | None = None
    filename: str | None = None
    data_base64: str


def chunk_events(
    tenant_id: str,
    message_event_id: UUID,
    index: int,
    data: bytes,
    *,
    content_type: str | None,
    filename: str | None,
) -> list[MediaChunkEvent]:
    """The chunk events of one attachment's bytes (an empty file is one empty chunk)."""
    digest = hashlib.sha256(data).hexdigest()
    parts = max(1, -(-len(data) // CHUNK_BYTES))
    attachment = attachment_id(message_event_id, index)
    return [
        MediaChunkEvent(
            event_id=media_chunk_id(attachment, part),
            tenant_id=tenant_id,
            message_event_id=message_event_id,
            index=index,
            part=part,
            parts=parts,
            size=len(data),
            sha256=digest,
            content_type=content_type,
            filename=filename,
            data_base64=base64.b64encode(
                data[part * CHUNK_BYTES : (part + 1) * CHUNK_BYTES]
            ).decode(),
        )
        for part in range(parts)
    ]
