"""In-memory stand-ins for the two aiokafka clients a consumer runner touches: the group consumer
it polls (start, getmany, seek, commit, stop) and the producer its dead letters go through
(send_and_wait). They keep aiokafka's semantics for exactly those calls and nothing more."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError, IllegalStateError, KafkaError

#: What both fakes note, in a list a test's handlers may share, so a test can state the order
#: of writes, commits, seeks and sends: ("commit", partition, offset), ("seek", partition,
#: offset), ("sent", topic, key).
Journal = list[tuple[object, ...]]

#: A poll that returns records this many times is a runner that never gets past a record.
_RUNAWAY_POLLS = 100


def consumed(
    *,
    offset: int,
    value: bytes | None,
    topic: str = "bookings.events.v1",
    partition: int = 0,
    key: bytes | None = b"acme:b-1",
    headers: Sequence[tuple[str, bytes]] = (),
    timestamp: int = 1_777_000_000_000,
) -> ConsumerRecord[bytes, bytes]:
    """A record as aiokafka's consumer hands it over."""
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=-1 if key is None else len(key),
        serialized_value_size=-1 if value is None else len(value),
        headers=tuple(headers),
    )


class MemoryConsumer:
    """A consumer-group member assigned every partition of ``records``, reading from the first
    record of each (no committed offset yet, ``auto_offset_reset="earliest"``).

    A real ``getmany`` with nothing to return waits ``timeout_ms`` for new records; this one
    sets ``stop`` instead, as an operator stopping a worker that has caught up, so a test's
    ``await runner.run(stop)`` returns once everything was read and nothing was sought back.
    ``polls`` stops it after that many polls that returned records (a held record is read
    again on every poll, so a test of a held offset says how many polls it wants).
    """

    def __init__(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        *,
        stop: asyncio.Event,
        polls: int | None = None,
        journal: Journal | None = None,
        commit_error: KafkaError | None = None,
    ) -> None:
        self._log: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
            self._log.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        self.positions = {tp: log[0].offset for tp, log in self._log.items()}
        self.stop_event = stop
        self.polls = polls
        self.polled = 0
        self.journal: Journal = [] if journal is None else journal
        #: Raised by every commit, as after a rebalance (CommitFailedError) or a broker error.
        self.commit_error = commit_error
        #: The offsets committed, in order: the offset of the next record to read.
        self.commits: list[tuple[int, int]] = []
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self._check_running()
        if max_records is not None and max_records < 1:
            raise ValueError("`max_records` must be a positive Integer")
        if self.polls is not None and self.polled >= self.polls:
            self.stop_event.set()
            return {}
        room = 500 if max_records is None else max_records  # aiokafka's max_poll_records
        batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for tp in partitions or tuple(self._log):
            unread = [r for r in self._log[tp] if r.offset >= self.positions[tp]][:room]
            if unread:
                batch[tp] = unread
                self.positions[tp] = unread[-1].offset + 1
                room -= len(unread)
        if not batch:
            self.stop_event.set()
            return {}
        self.polled += 1
        if self.polled > _RUNAWAY_POLLS:
            raise AssertionError(f"polled {_RUNAWAY_POLLS} times: a record is never done")
        return batch

    def assignment(self) -> set[TopicPartition]:
        return set(self._log)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self._log[tp][-1].offset + 1 for tp in partitions}

    async def committed(self, partition: TopicPartition) -> int | None:
        done = [offset for number, offset in self.commits if number == partition.partition]
        return done[-1] if done else None

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._check_assigned(partition)
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("Offset must be a positive integer")
        self.positions[partition] = offset
        self.journal.append(("seek", partition.partition, offset))

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        self._check_running()
        if offsets is None:
            offsets = dict(self.positions)
        for tp in offsets:
            self._check_assigned(tp)
        if self.commit_error is not None:
            raise self.commit_error
        for tp, offset in offsets.items():
            self.commits.append((tp.partition, offset))
            self.journal.append(("commit", tp.partition, offset))

    def _check_running(self) -> None:
        if not self.started or self.stopped:
            raise ConsumerStoppedError()

    def _check_assigned(self, partition: TopicPartition) -> None:
        self._check_running()
        if partition not in self._log:
            raise IllegalStateError(f"Partition {partition} is not assigned")


@dataclass(frozen=True)
class Sent:
    """One record a producer was asked to send."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> bytes | None:
        return dict(self.headers).get(name)


class MemoryProducer:
    """A producer whose sends are acknowledged at once, or fail with ``error`` as an
    unreachable broker's would (``KafkaTimeoutError``), keeping nothing."""

    def __init__(self, *, error: KafkaError | None = None, journal: Journal | None = None) -> None:
        self.sent: list[Sent] = []
        self.error = error
        self.journal: Journal = [] if journal is None else journal

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(Sent(topic, key, value, list(headers or [])))
        self.journal.append(("sent", topic, key))
