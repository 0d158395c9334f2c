"""Dead-letter records: what could not be normalised or handled, kept for replay."""

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.base import ContractModel
from contracts.types import UtcDatetime


class IngestDeadLetter(ContractModel):
    """An authentic webhook the gateway could not normalise, kept whole for replay."""

    SCHEMA: ClassVar[str] = "ingest.deadletter/1"

    event_id: UUID
    channel: str = Field(description="the route's channel: whatsapp, sms, email, bookings...")
    provider: str
    path: str
    query_string: str = ""
    content_type: str | None = None
    headers: dict[str, str] = Field(
        default_factory=dict, description="the headers the parsers read, names in lower case"
    )
    body_base64: str
    reason: str
    received_at: UtcDatetime
    correlation_id: str | None = None
    tenant_id: str | None = None


class ConsumerDeadLetterHeaders:
    """Header names on ``consumers.deadletter.v1`` records, beside the original headers."""

    ERROR: ClassVar[str] = "dlq_error"
    ERROR_TYPE: ClassVar[str] = "dlq_error_type"
    ATTEMPTS: ClassVar[str] = "dlq_attempts"
    SOURCE_TOPIC: ClassVar[str] = "dlq_source_topic"
    SOURCE_PARTITION: ClassVar[str] = "dlq_source_partition"
    SOURCE_OFFSET: ClassVar[str] = "dlq_source_offset"
    CONSUMER_GROUP: ClassVar[str] = "dlq_consumer_group"
