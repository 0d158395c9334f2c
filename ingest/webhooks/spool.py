"""The gateway's local durable spool: where a request's records wait while Kafka is away.

Twilio does not retry an inbound SMS and Meta gives up after some days, so a webhook whose
records Kafka cannot take in time is written here instead, and the provider still gets its
2xx. Each spool is a SQLite database in WAL mode with ``synchronous=FULL``: an append returns
only once it is on disk, a torn write is rolled back by SQLite's journal, and rows keep their
arrival order. Appends arriving together share one transaction (one fsync).

A spool directory holds one slot per process (``slot-N.db``), each owned through an exclusive
``flock`` on ``slot-N.lock`` for the owner's lifetime. The kernel drops the lock when a process
dies, even by SIGKILL, so the next process to start takes the slot over, and drains it.
"""

import asyncio
import contextlib
import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from ingest.webhooks.publisher import PublishError
from ingest.webhooks.records import ProducerRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spooled_at REAL NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    size INTEGER NOT NULL
)
"""


class SpoolFull(PublishError):
    """The spool has reached its size limit; the request must be refused (503)."""


@dataclass(frozen=True, slots=True)
class SpooledRecord:
    """A record as the spool keeps it, with the position that orders it."""

    id: int
    spooled_at: float
    channel: str
    record: ProducerRecord


@dataclass(frozen=True, slots=True)
class SpoolStats:
    depth: int
    size_bytes: int
    oldest_spooled_at: float | None


class _SlotLock:
    """An exclusive, non-blocking ``flock`` on a slot's lock file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Spool:
    """One slot: an ordered, durable queue of records, used by one process at a time.

    Every SQLite call runs on one dedicated thread, so the event loop never waits on a fsync.
    """

    def __init__(self, path: Path, lock: _SlotLock, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = lock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        depth, size = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM records"
        ).fetchone()
        self._stats = SpoolStats(depth, size, self._oldest())
        self._pending: list[tuple[Sequence[ProducerRecord], str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    def claim(cls, directory: Path, max_bytes: int) -> Self:
        """Own the first free slot in ``directory``, creating it if needed."""
        directory.mkdir(parents=True, exist_ok=True)
        for number in range(1024):
            spool = cls.try_open(directory / f"slot-{number}.db", max_bytes)
            if spool is not None:
                return spool
        raise RuntimeError(f"no free spool slot in {directory}")

    @classmethod
    def try_open(cls, path: Path, max_bytes: int) -> Self | None:
        """Open the slot at ``path`` if no live process owns it."""
        lock = _SlotLock(path.with_suffix(".lock"))
        if not lock.acquire():
            return None
        try:
            return cls(path, lock, max_bytes)
        except BaseException:
            lock.release()
            raise

    @staticmethod
    def slots(directory: Path) -> list[Path]:
        """Every slot database in ``directory``, in slot order."""
        if not directory.is_dir():
            return []
        return sorted(directory.glob("slot-*.db"), key=lambda p: int(p.stem.split("-")[1]))

    @property
    def stats(self) -> SpoolStats:
        return self._stats

    def __len__(self) -> int:
        return self._stats.depth

    async def append(self, records: Sequence[ProducerRecord], channel: str) -> None:
        """Write ``records`` after everything spooled so far; return once they are on disk.

        Raises SpoolFull when they would take the spool past its size limit.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((records, channel, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="spool-writer")
        await future

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            accepted: list[tuple[Sequence[ProducerRecord], str]] = []
            size = self._stats.size_bytes
            for records, channel, future in batch:
                needed = sum(_size(r) for r in records)
                if size + needed > self.max_bytes:
                    future.set_exception(
                        SpoolFull(f"the spool holds {size} bytes of {self.max_bytes} allowed")
                    )
                    continue
                size += needed
                accepted.append((records, channel))
            if not accepted:
                continue
            try:
                await loop.run_in_executor(self._executor, self._insert, accepted)
            except sqlite3.Error as error:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(PublishError(f"the spool cannot write: {error}"))
                continue
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _insert(self, batches: list[tuple[Sequence[ProducerRecord], str]]) -> None:
        now = time.time()
        rows = [
            (now, channel, r.kind, r.topic, r.key, r.value, _dump_headers(r.headers), _size(r))
            for records, channel in batches
            for r in records
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO records (spooled_at, channel, kind, topic, key, value, headers, size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        added = sum(row[-1] for row in rows)
        oldest = self._stats.oldest_spooled_at or now
        self._stats = SpoolStats(
            self._stats.depth + len(rows), self._stats.size_bytes + added, oldest
        )

    async def head(self, limit: int, max_bytes: int) -> list[SpooledRecord]:
        """The oldest records, in the order they were spooled: at most ``limit`` of them and,
        past the first, no more than ``max_bytes`` in all."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._head, limit, max_bytes)

    def _head(self, limit: int, max_bytes: int) -> list[SpooledRecord]:
        rows = self._db.execute(
            "SELECT id, spooled_at, channel, kind, topic, key, value, headers, size FROM records"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        head: list[SpooledRecord] = []
        total = 0
        for id_, spooled_at, channel, kind, topic, key, value, headers, size in rows:
            total += size
            if head and total > max_bytes:
                break
            record = ProducerRecord(
                topic=topic, key=key, value=value, headers=_load_headers(headers), kind=kind
            )
            head.append(
                SpooledRecord(id=id_, spooled_at=spooled_at, channel=channel, record=record)
            )
        return head

    async def remove_through(self, last_id: int) -> None:
        """Forget every record up to and including ``last_id``: Kafka has them now."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._remove, last_id)

    def _remove(self, last_id: int) -> None:
        with self._transaction():
            # A range of the primary key: the cost follows what is removed, not what is left.
            removed, freed = self._db.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM records WHERE id <= ?", (last_id,)
            ).fetchone()
            self._db.execute("DELETE FROM records WHERE id <= ?", (last_id,))
        depth = self._stats.depth - removed
        self._stats = SpoolStats(depth, self._stats.size_bytes - freed, self._oldest())
        if depth == 0:
            # Give the disk back once a long outage is over.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")

    def _oldest(self) -> float | None:
        row = self._db.execute("SELECT spooled_at FROM records ORDER BY id LIMIT 1").fetchone()
        return float(row[0]) if row else None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def close(self) -> None:
        """Finish pending appends, then close the database and give up the slot."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)
        self._lock.release()


def _size(record: ProducerRecord) -> int:
    """What a record counts against the size limit: its key and value."""
    return len(record.key) + len(record.value)


def _dump_headers(headers: list[tuple[str, bytes]]) -> str:
    return json.dumps([[name, value.decode("latin-1")] for name, value in headers])


def _load_headers(text: str) -> list[tuple[str, bytes]]:
    return [(name, value.encode("latin-1")) for name, value in json.loads(text)]
