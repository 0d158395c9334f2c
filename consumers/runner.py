"""A consumer-group worker: poll, handle each record, dead-letter poison, commit after writes.

At-least-once: an offset is committed only after its record's writes (or its dead letter)
are done, so a crash replays records and the handlers' idempotent writes absorb them.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from clients import kafka
from clients.kafka import ConsumedRecord
from consumers import metrics
from consumers.deadletters import DeadLetters
from consumers.errors import TRANSIENT_ERRORS, PoisonMessage
from consumers.lag import LagWatch
from contracts import Settings
from contracts.logs import CORRELATION_ID

log = structlog.get_logger(__name__)

T = TypeVar("T")


class RecordOutcome(Enum):
    """What became of a record: its offset may be committed, or it must be read again."""

    DONE = auto()
    RETRY_LATER = auto()


@dataclass(frozen=True)
class Worker(Generic[T]):
    """One topic's handling: how to read a record's value, and what to do with it."""

    name: str
    topic: str
    #: Reads a record's value (and, where the topic carries several kinds, its headers).
    decode: Callable[[ConsumedRecord], T]
    handle: Callable[[T], Awaitable[None]]
    #: Handles a whole poll at once (bulk writes), every partition's records in their order;
    #: when it fails with anything but a transient error, they are handled one by one.
    handle_batch: Callable[[list[T]], Awaitable[None]] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Poison after ``max_attempts`` failures; transient errors retried for ``transient_budget``
    seconds before the record is left for the next poll (offset held)."""

    max_attempts: int = 5
    transient_budget: float = 30.0
    initial_wait: float = 0.05
    max_wait: float = 5.0


class ConsumerRunner(Generic[T]):
    """Runs one worker in a consumer group until ``stop`` is set."""

    def __init__(
        self,
        worker: Worker[T],
        settings: Settings,
        dead_letters: DeadLetters,
        *,
        group_id: str,
        policy: RetryPolicy | None = None,
        max_records: int = 200,
        consumer_factory: Callable[[], AIOKafkaConsumer] | None = None,
        lag_interval: float = 5.0,
    ) -> None:
        self.worker = worker
        self.settings = settings
        self.dead_letters = dead_letters
        self.group_id = group_id
        self.policy = policy or RetryPolicy()
        self.max_records = max_records
        #: Builds the consumer ``run`` polls: a member of ``group_id`` on the worker's topic
        #: unless given (unit tests give an in-memory one).
        self.consumer_factory = consumer_factory or self._consumer
        self.lag = LagWatch(group_id, worker.topic, interval=lag_interval)

    def _consumer(self) -> AIOKafkaConsumer:
        return kafka.consumer(
            self.settings,
            self.worker.topic,
            group_id=self.group_id,
            client_id=f"threadline-{self.worker.name}",
            auto_offset_reset="earliest",
            max_poll_interval_ms=600_000,
        )

    async def run(self, stop: asyncio.Event) -> None:
        consumer = self.consumer_factory()
        await consumer.start()
        log.info("consumer_started", worker=self.worker.name, group=self.group_id)
        watching = asyncio.create_task(self.lag.run(consumer, stop), name="lag-watch")
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                if batches:
                    self.lag.read([r.timestamp for polled in batches.values() for r in polled])
                    with metrics.HANDLING.labels(self.group_id, self.worker.topic).time():
                        await self._run_poll(consumer, batches)
                self.lag.handled()
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            with contextlib.suppress(KafkaError):
                await consumer.stop()
            log.info("consumer_stopped", worker=self.worker.name)

    def _count(self, outcome: str, records: int = 1) -> None:
        metrics.RECORDS.labels(self.group_id, self.worker.topic, outcome).inc(records)

    async def _run_poll(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumedRecord]]
    ) -> None:
        """A poll's records: all partitions' together when the worker handles batches (each
        partition's records in their order), else, or when that fails, one by one."""
        records = [record for polled in batches.values() for record in polled]
        if self.worker.handle_batch is not None and len(records) > 1:
            outcome = await self._process_batch(records)
            if outcome is RecordOutcome.RETRY_LATER:
                self._count("held", len(records))
                for partition, polled in batches.items():
                    consumer.seek(partition, polled[0].offset)
                return
            if outcome is RecordOutcome.DONE:
                self._count("handled", len(records))
                await self._commit(
                    consumer,
                    {partition: polled[-1].offset + 1 for partition, polled in batches.items()},
                )
                return
        for partition, polled in batches.items():
            await self._run_partition(consumer, partition, polled)

    async def _run_partition(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, records: list[ConsumedRecord]
    ) -> None:
        done: int | None = None
        for record in records:
            outcome = await self.process(record)
            if outcome is RecordOutcome.RETRY_LATER:
                # Hold the offset: the next poll reads this record again.
                consumer.seek(partition, record.offset)
                break
            done = record.offset + 1
        if done is not None:
            await self._commit(consumer, {partition: done})

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
            self.lag.committed.update(offsets)
        except CommitFailedError:
            # A partition moved to another member; it will replay, idempotently.
            log.warning(
                "commit_failed_after_rebalance", partitions=sorted(p.partition for p in offsets)
            )

    async def _process_batch(self, records: list[ConsumedRecord]) -> RecordOutcome | None:
        """Handle a poll in one go: DONE, RETRY_LATER, or None to fall back to one by one."""
        assert self.worker.handle_batch is not None
        values: list[T] = []
        for record in records:
            try:
                values.append(self.worker.decode(record))
            except (ValidationError, ValueError):
                return None  # the one-by-one path dead-letters exactly the bad record
        structlog.contextvars.clear_contextvars()
        spans: dict[int, list[int]] = {}
        for record in records:
            spans.setdefault(record.partition, []).append(record.offset)
        structlog.contextvars.bind_contextvars(
            topic=records[0].topic,
            offsets={p: f"{offsets[0]}-{offsets[-1]}" for p, offsets in sorted(spans.items())},
        )
        try:
            async for attempt in self._retrying(lambda e: isinstance(e, TRANSIENT_ERRORS)):
                with attempt:
                    await self.worker.handle_batch(values)
        except TRANSIENT_ERRORS as error:
            log.warning("transient_failure_holding_offset", error=str(error))
            return RecordOutcome.RETRY_LATER
        except Exception as error:
            log.warning("batch_failed_one_by_one", error=str(error), records=len(records))
            return None
        return RecordOutcome.DONE

    def _retrying(self, retryable: Callable[[BaseException], bool]) -> AsyncRetrying:
        """Attempts with jittered exponential waits, within the policy's stop rule."""
        return AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=self._should_stop,
            wait=wait_exponential_jitter(
                multiplier=self.policy.initial_wait,
                max=self.policy.max_wait,
                jitter=self.policy.initial_wait,
            ),
            reraise=True,
        )

    async def process(self, record: ConsumedRecord) -> RecordOutcome:
        """Handle one record: done, dead-lettered, or left for a later poll."""
        headers = dict(record.headers or [])
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            **{CORRELATION_ID: headers.get(CORRELATION_ID, b"").decode() or None},
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_id=headers.get("event_id", b"").decode() or None,
        )
        try:
            value = self.worker.decode(record)
        except (ValidationError, ValueError) as error:
            return await self._dead_letter(record, PoisonMessage(f"invalid record: {error}"), 1)
        attempts = 0
        try:
            async for attempt in self._retrying(lambda e: not isinstance(e, PoisonMessage)):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    await self.worker.handle(value)
        except TRANSIENT_ERRORS as error:
            log.warning("transient_failure_holding_offset", error=str(error), attempts=attempts)
            self._count("held")
            return RecordOutcome.RETRY_LATER
        except PoisonMessage as error:
            return await self._dead_letter(record, error, attempts)
        except Exception as error:
            log.exception("record_failed", attempts=attempts)
            return await self._dead_letter(record, error, attempts)
        self._count("handled")
        return RecordOutcome.DONE

    def _should_stop(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TRANSIENT_ERRORS):
            return (state.seconds_since_start or 0.0) >= self.policy.transient_budget
        return state.attempt_number >= self.policy.max_attempts

    async def _dead_letter(
        self, record: ConsumedRecord, error: BaseException, attempts: int
    ) -> RecordOutcome:
        try:
            await self.dead_letters.publish(record, error, attempts)
        except KafkaError as failure:
            log.warning("dead_letter_failed_holding_offset", error=str(failure))
            self._count("held")
            return RecordOutcome.RETRY_LATER
        log.warning("dead_lettered", error=str(error), error_type=type(error).__name__)
        self._count("dead_lettered")
        return RecordOutcome.DONE


def decode_json_model(model: Any) -> Callable[[ConsumedRecord], Any]:
    """A decoder validating the record's UTF-8 JSON value into ``model``."""

    def decode(record: ConsumedRecord) -> Any:
        return model.model_validate_json(record.value or b"")

    return decode


def decode_by_schema(models: Mapping[str, Any], default: Any) -> Callable[[ConsumedRecord], Any]:
    """A decoder choosing the model by the record's ``schema`` header, ``default`` for a
    record without one (producers of v1 records need not set it); an unknown schema is a
    poison record, named in its dead letter."""

    def decode(record: ConsumedRecord) -> Any:
        headers = dict(record.headers or [])
        name = headers.get("schema", b"").decode("utf-8", "replace")
        model = models.get(name) if name else default
        if model is None:
            raise ValueError(f"no consumer of schema {name!r} on {record.topic}")
        return model.model_validate_json(record.value or b"")

    return decode
