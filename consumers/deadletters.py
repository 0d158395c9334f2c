"""Reading a dead-letter topic, and putting the consumers' dead letters back on their topics.

A record lands in ``consumers.deadletter.v1`` with its original key, value and headers plus
``dlq_*`` headers naming the error. Once the cause is fixed (a tenant added, a bug fixed), the
record can go back to the topic it came from; the consumers' writes are idempotent, so a record
replayed twice, or one that had in fact been stored, changes nothing.
"""

import argparse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import TypeAdapter, ValidationError

from contracts import ConsumerDeadLetterHeaders, Settings
from contracts.settings import Seconds

log = structlog.get_logger(__name__)

Record: TypeAlias = ConsumerRecord  # aiokafka ships no type information


async def read_topic(settings: Settings, topic: str) -> AsyncIterator[Record]:
    """Every record on ``topic`` from the beginning up to its end when we started reading.

    No consumer group: reading commits nothing and disturbs no worker.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=settings.kafka_max_request_bytes,
        fetch_max_bytes=settings.kafka_max_request_bytes,
    )
    await consumer.start()
    try:
        await consumer.topics()  # fresh metadata from the cluster
        numbers = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < remaining.get(tp, 0):
                        yield record
                if tp in remaining and await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
    finally:
        await consumer.stop()


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
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.kafka_max_request_bytes,
    )
    await producer.start()
    try:
        async for record in read_topic(settings, settings.topic_consumers_deadletter):
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
