"""What the read API publishes through: the gateway's ingestor (Kafka, or its spool when
Kafka does not take the records in time), seen only as this, so ``ingest.api`` does not
depend on ``ingest.webhooks``."""

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from contracts import OutboundEvent


@runtime_checkable
class Outbox(Protocol):
    async def publish(
        self, channel: str, events: Iterable[OutboundEvent], correlation_id: str | None
    ) -> None:
        """Return once Kafka acknowledged every event, or the spool holds them on disk;
        raise ServiceUnavailable when neither takes them."""
