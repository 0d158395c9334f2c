"""Dead-letter records: what could not be normalised or handled, kept for replay, and how
the replay commands choose which of them to replay."""

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field, TypeAdapter, ValidationError

from contracts.base import ContractModel
from contracts.settings import Seconds
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


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since``: an ISO 8601 moment (UTC unless it says otherwise), or a duration before
    now (``PT2H``, ``P1D``, or plain seconds)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        ago = TypeAdapter(Seconds).validate_python(text)
    except ValidationError:
        raise ValueError(f"--since {text!r}: not an ISO 8601 time or duration") from None
    return (now or datetime.now(UTC)) - ago


def add_replay_arguments(command: argparse.ArgumentParser) -> None:
    """``--reason``, ``--since`` and ``--dry-run``, for both replay commands."""
    command.add_argument("--reason", help="only dead letters whose reason contains this (any case)")
    command.add_argument(
        "--since",
        type=parse_since,
        help="only those received since this ISO 8601 time, or this long ago (PT2H, P1D)",
    )
    command.add_argument(
        "--dry-run", action="store_true", help="count what would be published; publish nothing"
    )


def matches(reason: str | None, since: datetime | None) -> Callable[[str, datetime], bool]:
    """The filter of ``--reason`` (a case-insensitive substring) and ``--since``."""

    def check(text: str, at: datetime) -> bool:
        if reason is not None and reason.lower() not in text.lower():
            return False
        return since is None or at >= since

    return check
