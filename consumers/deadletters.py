"""The consumers' dead letters: publishing a record a worker cannot handle, and putting dead
letters back on the topics they came from.

A record lands in ``consumers.deadletter.v1`` with its original key, value and headers plus
``dlq_*`` headers naming the error. Once the cause is fixed (a tenant added, a bug fixed), the
record can go back to the topic it came from; the consumers' writes are idempotent, so a record
replayed twice, or one that had in fact been stored, changes nothing.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer

from clients import kafka
from clients.kafka import ConsumedRecord
from contracts import ConsumerDeadLetterHeaders, Settings
from contracts.deadletter import matches

log = structlog.get_logger(__name__)


class DeadLetters:
    """Publishes records a consumer cannot handle to ``consumers.deadletter.v1``."""

    def __init__(self, producer: AIOKafkaProducer, settings: Settings, group_id: str) -> None:
        self._producer = producer
        self._topic = settings.topic_consumers_deadletter
        self._group_id = group_id

    async def publish(self, record: ConsumedRecord, error: BaseException, attempts: int) -> None:
        names = ConsumerDeadLetterHeaders
        headers = [
            (name, value) for name, value in (record.headers or []) if not name.startswith("dlq_")
        ]
        headers += [
            (names.ERROR, str(error)[:4000].encode()),
            (names.ERROR_TYPE, type(error).__name__.encode()),
            (names.ATTEMPTS, str(attempts).encode()),
            (names.SOURCE_TOPIC, record.topic.encode()),
            (names.SOURCE_PARTITION, str(record.partition).encode()),
            (names.SOURCE_OFFSET, str(record.offset).encode()),
            (names.CONSUMER_GROUP, self._group_id.encode()),
        ]
        await self._producer.send_and_wait(
            self._topic, value=record.value, key=record.key, headers=headers
        )


@dataclass
class ReplaySummary:
    """What a replay read, matched and published."""

    read: int = 0
    matched: int = 0
    published: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [f"read {self.read}, matched {self.matched}, published {self.published}"]
        lines += [f"  {topic}: {count}" for topic, count in sorted(self.by_topic.items())]
        return lines


async def replay_consumer_deadletters(
    settings: Settings,
    *,
    reason: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
) -> ReplaySummary:
    """Publish matching dead letters back to their source topic, original headers only."""
    names = ConsumerDeadLetterHeaders
    wanted = matches(reason, since)
    summary = ReplaySummary()
    producer = kafka.producer(settings, client_id="threadline-replay")
    await producer.start()
    try:
        async for record in kafka.read_topic(settings, settings.topic_consumers_deadletter):
            summary.read += 1
            headers = dict(record.headers or [])
            why = " ".join(
                headers.get(name, b"").decode(errors="replace")
                for name in (names.ERROR_TYPE, names.ERROR)
            )
            at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
            source = headers.get(names.SOURCE_TOPIC, b"").decode()
            if not source or not wanted(why, at):
                continue
            summary.matched += 1
            if dry_run:
                continue
            original = [(k, v) for k, v in record.headers or [] if not k.startswith("dlq_")]
            await producer.send_and_wait(source, record.value, key=record.key, headers=original)
            summary.published += 1
            summary.by_topic[source] = summary.by_topic.get(source, 0) + 1
            log.info("deadletter_replayed", topic=source, offset=record.offset, reason=why)
    finally:
        await producer.stop()
    return summary
