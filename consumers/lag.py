"""A worker's backlog as metrics: the lag of each partition it holds, and how long the oldest
record it has read has waited, refreshed in the background while polls are handled."""

import asyncio
import contextlib
import time

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from consumers import metrics

log = structlog.get_logger(__name__)


class LagWatch:
    """Refreshes ``threadline_consumer_lag`` and the oldest unhandled record's age of one
    group on one topic every ``interval`` seconds, from the partitions' end offsets and the
    offsets the runner committed."""

    def __init__(self, group: str, topic: str, *, interval: float = 5.0) -> None:
        self.group = group
        self.topic = topic
        self.interval = interval
        #: Offsets committed by this member (the next record to handle, per partition).
        self.committed: dict[TopicPartition, int] = {}
        #: Kafka timestamp (ms) of the oldest record read and not yet handled.
        self.oldest_unhandled_ms: int | None = None
        self._shown: set[int] = set()

    def read(self, timestamps_ms: list[int]) -> None:
        """A poll was read: its oldest record waits until the poll is handled."""
        self.oldest_unhandled_ms = min(timestamps_ms) if timestamps_ms else None

    def handled(self) -> None:
        self.oldest_unhandled_ms = None

    async def run(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh(consumer)
            except KafkaError as error:
                log.debug("lag_not_refreshed", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def refresh(self, consumer: AIOKafkaConsumer) -> None:
        held = sorted(
            (tp for tp in consumer.assignment() if tp.topic == self.topic),
            key=lambda tp: tp.partition,
        )
        ends = await consumer.end_offsets(held) if held else {}
        for tp in held:
            if tp not in self.committed:
                self.committed[tp] = await consumer.committed(tp) or 0
            lag = max(0, ends.get(tp, 0) - self.committed[tp])
            metrics.LAG.labels(self.group, self.topic, str(tp.partition)).set(lag)
        for gone in self._shown - {tp.partition for tp in held}:
            metrics.LAG.remove(self.group, self.topic, str(gone))
        # A partition another member took commits there; should it come back, its committed
        # offset is read again, not the one this member last wrote.
        for tp in set(self.committed) - set(held):
            del self.committed[tp]
        self._shown = {tp.partition for tp in held}
        oldest = self.oldest_unhandled_ms
        age = max(0.0, time.time() - oldest / 1000) if oldest is not None else 0.0
        metrics.OLDEST_UNHANDLED.labels(self.group, self.topic).set(age)
