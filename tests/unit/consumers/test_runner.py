"""The consumer runner against an in-memory consumer and dead-letter producer: what is written,
dead-lettered, committed and held, and in which order."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
import structlog
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError, KafkaTimeoutError
from pymongo.errors import AutoReconnect
from structlog.testing import capture_logs

from consumers.deadletters import DeadLetters
from consumers.errors import PoisonMessage
from consumers.runner import ConsumerRunner, RetryPolicy, Worker, decode_json_model
from contracts import BookingEvent, ConsumerDeadLetterHeaders, MessageEvent, Settings
from contracts.logs import CORRELATION_ID
from tests.factories import booking_event, message_event
from tests.unit.consumers.memory_kafka import (
    Journal,
    MemoryConsumer,
    MemoryProducer,
    Sent,
    consumed,
)

SETTINGS = Settings()
GROUP = "threadline-bookings-unit"
DLQ = ConsumerDeadLetterHeaders

#: Waits of a millisecond or two; transient errors retried for 20 ms before the offset is held.
FAST = RetryPolicy(max_attempts=3, transient_budget=0.02, initial_wait=0.001, max_wait=0.002)


def booking_record(
    *, offset: int, booking_id: str, partition: int = 0, tenant_id: str = "acme"
) -> ConsumerRecord[bytes, bytes]:
    """A booking event's record, with the headers the gateway writes."""
    event = booking_event(booking_id=booking_id, tenant_id=tenant_id)
    return consumed(
        topic=SETTINGS.topic_bookings,
        partition=partition,
        offset=offset,
        key=f"{tenant_id}:{booking_id}".encode(),
        value=event.model_dump_json(exclude_none=True).encode(),
        headers=[
            ("schema", BookingEvent.SCHEMA.encode()),
            ("event_id", str(event.event_id).encode()),
            (CORRELATION_ID, f"corr-{booking_id}".encode()),
        ],
    )


def message_record(
    *, offset: int, provider_message_id: str, tenant_id: str = "acme", partition: int = 0
) -> ConsumerRecord[bytes, bytes]:
    """A message event's record on the messages topic."""
    event = message_event(provider_message_id=provider_message_id, tenant_id=tenant_id)
    return consumed(
        topic=SETTINGS.topic_messages,
        offset=offset,
        partition=partition,
        key=b"acme:whatsapp:447911123456",
        value=event.model_dump_json(exclude_none=True).encode(),
    )


class Bookings:
    """A worker's handling that notes each booking it wrote in the journal, or fails with the
    error ``failing`` gives for its booking id (on every attempt, or only the first ``times``)."""

    def __init__(
        self,
        journal: Journal,
        *,
        failing: dict[str, BaseException] | None = None,
        times: int | None = None,
    ) -> None:
        self.journal = journal
        self.failing = failing or {}
        self.times = times
        self.attempts: Counter[str] = Counter()

    async def handle(self, event: BookingEvent) -> None:
        booking_id = event.booking.booking_id
        self.attempts[booking_id] += 1
        error = self.failing.get(booking_id)
        if error is not None and (self.times is None or self.attempts[booking_id] <= self.times):
            raise error
        self.journal.append(("wrote", booking_id))


def make_runner(
    *,
    handle: Callable[[Any], Awaitable[None]],
    consumer: MemoryConsumer,
    producer: MemoryProducer,
    handle_batch: Callable[[list[Any]], Awaitable[None]] | None = None,
    model: Any = BookingEvent,
    policy: RetryPolicy = FAST,
) -> ConsumerRunner[Any]:
    worker: Worker[Any] = Worker(
        name="unit",
        topic=SETTINGS.topic_bookings,
        decode=decode_json_model(model),
        handle=handle,
        handle_batch=handle_batch,
    )
    return ConsumerRunner(
        worker,
        SETTINGS,
        DeadLetters(producer, SETTINGS, GROUP),
        group_id=GROUP,
        policy=policy,
        consumer_factory=lambda: consumer,
    )


async def run(runner: ConsumerRunner[Any], stop: asyncio.Event) -> None:
    """Run until the in-memory consumer stops it, failing the test rather than hanging."""
    await asyncio.wait_for(runner.run(stop), timeout=2)


def poll(
    records: Sequence[ConsumerRecord[bytes, bytes]],
    *,
    journal: Journal,
    polls: int | None = None,
    **options: Any,
) -> tuple[MemoryConsumer, asyncio.Event]:
    stop = asyncio.Event()
    return MemoryConsumer(records, stop=stop, polls=polls, journal=journal, **options), stop


def the_letter(producer: MemoryProducer) -> Sent:
    [letter] = producer.sent
    assert letter.topic == SETTINGS.topic_consumers_deadletter
    return letter


async def test_the_offset_is_committed_only_after_the_write_finished() -> None:
    """While a record's write is in flight nothing is committed and the next record waits;
    the poll's offset is committed once, after the last write."""
    journal: Journal = []
    started, release = asyncio.Event(), asyncio.Event()

    async def handle(event: BookingEvent) -> None:
        if event.booking.booking_id == "b-0":
            started.set()
            await release.wait()  # the database has not answered yet
        journal.append(("wrote", event.booking.booking_id))

    consumer, stop = poll(
        [booking_record(offset=0, booking_id="b-0"), booking_record(offset=1, booking_id="b-1")],
        journal=journal,
    )
    runner = make_runner(handle=handle, consumer=consumer, producer=MemoryProducer())
    running = asyncio.create_task(run(runner, stop))
    try:
        await asyncio.wait_for(started.wait(), timeout=1)
        assert journal == []
        assert consumer.commits == []
    finally:
        release.set()
        await running
    assert journal == [("wrote", "b-0"), ("wrote", "b-1"), ("commit", 0, 2)]
    assert consumer.stopped


async def test_each_record_is_handled_with_its_identity_bound_to_the_logs() -> None:
    """While a record is handled, its correlation id, event id, topic, partition and offset are
    bound to every log line."""
    bound: list[dict[str, Any]] = []

    async def handle(event: BookingEvent) -> None:
        bound.append(structlog.contextvars.get_contextvars())

    record = booking_record(offset=4, booking_id="b-4", partition=2)
    consumer, stop = poll([record], journal=[])
    await run(make_runner(handle=handle, consumer=consumer, producer=MemoryProducer()), stop)
    assert bound == [
        {
            CORRELATION_ID: "corr-b-4",
            "event_id": dict(record.headers)["event_id"].decode(),
            "topic": SETTINGS.topic_bookings,
            "partition": 2,
            "offset": 4,
        }
    ]


async def test_an_undecodable_record_is_dead_lettered_and_its_neighbours_handled() -> None:
    """Invalid JSON goes to the dead-letter topic as it came, with the reason, one attempt and
    its source; the records before and after it are written and the offset passes all three."""
    journal: Journal = []
    producer = MemoryProducer(journal=journal)
    broken = consumed(
        topic=SETTINGS.topic_bookings,
        offset=1,
        key=b"x",
        value=b"{not json",
        headers=[(CORRELATION_ID, b"corr-x"), (DLQ.ERROR, b"from an earlier life")],
    )
    records = [
        booking_record(offset=0, booking_id="b-0"),
        broken,
        booking_record(offset=2, booking_id="b-2"),
    ]
    consumer, stop = poll(records, journal=journal)
    await run(
        make_runner(handle=Bookings(journal).handle, consumer=consumer, producer=producer), stop
    )
    assert journal == [
        ("wrote", "b-0"),
        ("sent", SETTINGS.topic_consumers_deadletter, b"x"),
        ("wrote", "b-2"),
        ("commit", 0, 3),
    ]
    letter = the_letter(producer)
    assert (letter.key, letter.value) == (b"x", b"{not json")
    assert letter.header(DLQ.ERROR_TYPE) == b"PoisonMessage"
    assert (letter.header(DLQ.ERROR) or b"").startswith(b"invalid record")
    assert letter.header(DLQ.ATTEMPTS) == b"1"
    assert letter.header(DLQ.SOURCE_TOPIC) == SETTINGS.topic_bookings.encode()
    assert letter.header(DLQ.SOURCE_PARTITION) == b"0"
    assert letter.header(DLQ.SOURCE_OFFSET) == b"1"
    assert letter.header(DLQ.CONSUMER_GROUP) == GROUP.encode()
    assert letter.header(CORRELATION_ID) == b"corr-x"  # the original headers travel along
    assert [value for name, value in letter.headers if name == DLQ.ERROR] == [
        letter.header(DLQ.ERROR)
    ]  # a stale dlq_ header of the record is replaced, not repeated


async def test_poison_from_the_handler_is_dead_lettered_at_once() -> None:
    """A handler's PoisonMessage is not retried: one attempt, dead-lettered with its reason,
    the offset committed past it and the next record written."""
    journal: Journal = []
    producer = MemoryProducer()
    handler = Bookings(journal, failing={"b-1": PoisonMessage("unknown tenant 'nobody'")})
    consumer, stop = poll(
        [booking_record(offset=n, booking_id=f"b-{n}") for n in range(3)], journal=journal
    )
    await run(make_runner(handle=handler.handle, consumer=consumer, producer=producer), stop)
    assert handler.attempts["b-1"] == 1
    assert journal == [("wrote", "b-0"), ("wrote", "b-2"), ("commit", 0, 3)]
    letter = the_letter(producer)
    assert letter.header(DLQ.ERROR) == b"unknown tenant 'nobody'"
    assert letter.header(DLQ.ERROR_TYPE) == b"PoisonMessage"
    assert letter.header(DLQ.ATTEMPTS) == b"1"
    assert letter.header(DLQ.SOURCE_OFFSET) == b"1"


async def test_an_unexpected_error_is_retried_then_dead_lettered() -> None:
    """A handler's bug is retried up to ``max_attempts`` and then dead-lettered with that
    count, so a fixed bug can replay it; the offset moves on."""
    journal: Journal = []
    producer = MemoryProducer()
    handler = Bookings(journal, failing={"b-0": KeyError("booking")})
    consumer, stop = poll([booking_record(offset=0, booking_id="b-0")], journal=journal)
    with capture_logs() as logs:
        await run(make_runner(handle=handler.handle, consumer=consumer, producer=producer), stop)
    assert handler.attempts["b-0"] == FAST.max_attempts
    [failed] = [entry for entry in logs if entry["event"] == "record_failed"]
    assert failed["exc_info"] is True  # a bug is logged with its traceback
    letter = the_letter(producer)
    assert letter.header(DLQ.ERROR_TYPE) == b"KeyError"
    assert letter.header(DLQ.ATTEMPTS) == str(FAST.max_attempts).encode()
    assert journal == [("commit", 0, 1)]


async def test_a_transient_error_past_its_budget_holds_the_offset() -> None:
    """MongoDB unreachable for longer than the transient budget: the record is retried (however
    low ``max_attempts``), not dead-lettered; the consumer seeks back to it and commits only
    the records before it, and the record after it is left unread."""
    journal: Journal = []
    producer = MemoryProducer()
    handler = Bookings(journal, failing={"b-1": AutoReconnect("connection refused")})
    consumer, stop = poll(
        [booking_record(offset=n, booking_id=f"b-{n}") for n in range(3)],
        journal=journal,
        polls=1,
    )
    policy = RetryPolicy(max_attempts=1, transient_budget=0.05, initial_wait=0.001, max_wait=0.002)
    runner = make_runner(handle=handler.handle, consumer=consumer, producer=producer, policy=policy)
    await run(runner, stop)
    assert handler.attempts["b-1"] >= 2
    assert journal == [("wrote", "b-0"), ("seek", 0, 1), ("commit", 0, 1)]
    assert consumer.positions[TopicPartition(SETTINGS.topic_bookings, 0)] == 1  # read next
    assert producer.sent == []


async def test_a_held_record_is_read_again_and_committed_once_the_database_is_back() -> None:
    """The poll after a held offset reads the held record again; once it is written, the
    offset is committed past it and the records after it."""
    journal: Journal = []
    handler = Bookings(journal, failing={"b-1": AutoReconnect("primary stepped down")}, times=1)
    consumer, stop = poll(
        [booking_record(offset=n, booking_id=f"b-{n}") for n in range(3)], journal=journal
    )
    policy = RetryPolicy(transient_budget=0.0)  # one attempt per poll
    producer = MemoryProducer()
    runner = make_runner(handle=handler.handle, consumer=consumer, producer=producer, policy=policy)
    await run(runner, stop)
    assert journal == [
        ("wrote", "b-0"),
        ("seek", 0, 1),
        ("commit", 0, 1),
        ("wrote", "b-1"),
        ("wrote", "b-2"),
        ("commit", 0, 3),
    ]
    assert producer.sent == []


async def test_a_held_partition_does_not_hold_the_others() -> None:
    """A transient failure on one partition holds only that partition's offset; a partition
    polled with it is written and committed."""
    journal: Journal = []
    handler = Bookings(journal, failing={"b-0": AutoReconnect("connection refused")})
    consumer, stop = poll(
        [
            booking_record(offset=0, booking_id="b-0", partition=0),
            booking_record(offset=0, booking_id="b-1", partition=1),
        ],
        journal=journal,
        polls=1,
    )
    await run(
        make_runner(handle=handler.handle, consumer=consumer, producer=MemoryProducer()), stop
    )
    assert journal == [("seek", 0, 0), ("wrote", "b-1"), ("commit", 1, 1)]


async def test_a_failed_dead_letter_publish_holds_the_offset() -> None:
    """When the dead letter cannot be published the poison record is not skipped: the consumer
    seeks back to it and commits only the records before it."""
    journal: Journal = []
    producer = MemoryProducer(error=KafkaTimeoutError())
    handler = Bookings(journal, failing={"b-1": PoisonMessage("unknown tenant 'nobody'")})
    consumer, stop = poll(
        [booking_record(offset=n, booking_id=f"b-{n}") for n in range(3)],
        journal=journal,
        polls=1,
    )
    await run(make_runner(handle=handler.handle, consumer=consumer, producer=producer), stop)
    assert journal == [("wrote", "b-0"), ("seek", 0, 1), ("commit", 0, 1)]
    assert producer.sent == []


class Messages:
    """A messages worker's handling: a poll in bulk, failing as a whole when any event names an
    unknown tenant (as MessagesHandler does), or one event at a time."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.batches: list[list[str]] = []

    async def handle_batch(self, events: list[MessageEvent]) -> None:
        self.batches.append([event.provider_message_id for event in events])
        ids = [self._known(event) for event in events]
        self.journal.append(("wrote", *ids))

    async def handle(self, event: MessageEvent) -> None:
        self.journal.append(("wrote", self._known(event)))

    @staticmethod
    def _known(event: MessageEvent) -> str:
        if event.tenant_id != "acme":
            raise PoisonMessage(f"unknown tenant {event.tenant_id!r}")
        return event.provider_message_id


async def test_a_failed_batch_is_handled_one_by_one_and_dead_letters_only_the_bad_record() -> None:
    """A poll whose bulk write fails for one poison event is not retried in bulk: each record is
    handled alone, only that one is dead-lettered, and the offset passes the whole poll."""
    journal: Journal = []
    producer = MemoryProducer()
    messages = Messages(journal)
    consumer, stop = poll(
        [
            message_record(offset=0, provider_message_id="m0"),
            message_record(offset=1, provider_message_id="bad", tenant_id="nobody"),
            message_record(offset=2, provider_message_id="m2"),
        ],
        journal=journal,
    )
    runner = make_runner(
        handle=messages.handle,
        handle_batch=messages.handle_batch,
        model=MessageEvent,
        consumer=consumer,
        producer=producer,
    )
    await run(runner, stop)
    assert messages.batches == [["m0", "bad", "m2"]]
    assert journal == [("wrote", "m0"), ("wrote", "m2"), ("commit", 0, 3)]
    letter = the_letter(producer)
    assert letter.header(DLQ.SOURCE_OFFSET) == b"1"
    assert letter.header(DLQ.ERROR) == b"unknown tenant 'nobody'"


async def test_a_poll_in_bulk_is_committed_once_after_its_write() -> None:
    """A poll that the bulk write takes whole is written in one call, then committed past it."""
    journal: Journal = []
    messages = Messages(journal)
    consumer, stop = poll(
        [message_record(offset=n, provider_message_id=f"m{n}") for n in range(3)],
        journal=journal,
    )
    runner = make_runner(
        handle=messages.handle,
        handle_batch=messages.handle_batch,
        model=MessageEvent,
        consumer=consumer,
        producer=MemoryProducer(),
    )
    await run(runner, stop)
    assert journal == [("wrote", "m0", "m1", "m2"), ("commit", 0, 3)]


async def test_a_poll_of_several_partitions_is_one_bulk_write_in_each_partitions_order() -> None:
    """Records polled from two partitions are written in one call, each partition's in its
    order, and both partitions are committed past them after it."""
    journal: Journal = []
    messages = Messages(journal)
    consumer, stop = poll(
        [
            message_record(offset=0, provider_message_id="a0", partition=0),
            message_record(offset=0, provider_message_id="b0", partition=1),
            message_record(offset=1, provider_message_id="a1", partition=0),
            message_record(offset=1, provider_message_id="b1", partition=1),
        ],
        journal=journal,
        polls=1,
    )
    runner = make_runner(
        handle=messages.handle,
        handle_batch=messages.handle_batch,
        model=MessageEvent,
        consumer=consumer,
        producer=MemoryProducer(),
    )
    await run(runner, stop)
    [batch] = messages.batches
    assert [m for m in batch if m.startswith("a")] == ["a0", "a1"]
    assert [m for m in batch if m.startswith("b")] == ["b0", "b1"]
    assert journal == [("wrote", *batch), ("commit", 0, 2), ("commit", 1, 2)]


async def test_a_batch_with_an_undecodable_record_is_handled_one_by_one() -> None:
    """A poll holding invalid JSON skips the bulk write: the good records are written one by one
    and only the invalid one is dead-lettered."""
    journal: Journal = []
    producer = MemoryProducer()
    messages = Messages(journal)
    consumer, stop = poll(
        [
            message_record(offset=0, provider_message_id="m0"),
            consumed(topic=SETTINGS.topic_messages, offset=1, value=b"[]"),
            message_record(offset=2, provider_message_id="m2"),
        ],
        journal=journal,
    )
    runner = make_runner(
        handle=messages.handle,
        handle_batch=messages.handle_batch,
        model=MessageEvent,
        consumer=consumer,
        producer=producer,
    )
    await run(runner, stop)
    assert messages.batches == []
    assert journal == [("wrote", "m0"), ("wrote", "m2"), ("commit", 0, 3)]
    assert the_letter(producer).value == b"[]"


async def test_a_transient_batch_failure_holds_the_whole_poll() -> None:
    """MongoDB unreachable during a bulk write: the consumer seeks back to the poll's first
    record, commits nothing, dead-letters nothing, and does not try the records one by one."""
    journal: Journal = []
    producer = MemoryProducer()
    singles: list[MessageEvent] = []

    async def handle_batch(events: list[MessageEvent]) -> None:
        raise AutoReconnect("connection refused")

    async def handle(event: MessageEvent) -> None:
        singles.append(event)

    consumer, stop = poll(
        [message_record(offset=n, provider_message_id=f"m{n}") for n in range(5, 8)],
        journal=journal,
        polls=1,
    )
    runner = make_runner(
        handle=handle,
        handle_batch=handle_batch,
        model=MessageEvent,
        consumer=consumer,
        producer=producer,
    )
    await run(runner, stop)
    assert journal == [("seek", 0, 5)]
    assert singles == []
    assert producer.sent == []


async def test_a_commit_refused_after_a_rebalance_does_not_stop_the_worker() -> None:
    """A commit refused because the partition moved to another member is logged and the worker
    goes on polling; the new owner replays from the last committed offset."""
    journal: Journal = []
    consumer, stop = poll(
        [booking_record(offset=0, booking_id="b-0")],
        journal=journal,
        commit_error=CommitFailedError(),
    )
    runner = make_runner(
        handle=Bookings(journal).handle, consumer=consumer, producer=MemoryProducer()
    )
    with capture_logs() as logs:
        await run(runner, stop)
    assert journal == [("wrote", "b-0")]
    assert "commit_failed_after_rebalance" in [entry["event"] for entry in logs]


async def test_a_commit_the_broker_fails_ends_the_run_with_the_consumer_stopped() -> None:
    """Any other commit failure is not swallowed: ``run`` raises it (the process restarts and
    replays from the last commit), after stopping the consumer."""
    journal: Journal = []
    consumer, stop = poll(
        [booking_record(offset=0, booking_id="b-0")],
        journal=journal,
        commit_error=KafkaConnectionError(),
    )
    runner = make_runner(
        handle=Bookings(journal).handle, consumer=consumer, producer=MemoryProducer()
    )
    with pytest.raises(KafkaConnectionError):
        await run(runner, stop)
    assert consumer.stopped
