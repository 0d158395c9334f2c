"""Moving spooled records into Kafka, in order, as soon as it takes them again."""

import asyncio
import base64
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from clients.backoff import Backoff
from contracts import IngestDeadLetter, Settings, dead_letter_id
from contracts.logs import CORRELATION_ID
from ingest import metrics
from ingest.webhooks.publisher import Publisher, PublishError, RecordsRefused
from ingest.webhooks.records import ProducerRecord, to_record
from ingest.webhooks.spool import Spool, SpooledRecord

log = structlog.get_logger(__name__)

#: Records and bytes handed to the producer per drain step.
_BATCH_RECORDS = 500
_BATCH_BYTES = 16 * 1024 * 1024
#: How often the drainer looks for slots left by processes that are gone.
_ADOPT_EVERY = 10.0
_IDLE_TICK = 1.0


class Spooler:
    """The process's own spool slot, and the task that drains it (and any orphaned slot)."""

    def __init__(self, spool: Spool, publisher: Publisher, settings: Settings) -> None:
        self.spool = spool
        self._publisher = publisher
        self._settings = settings
        self._directory = settings.spool_dir
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_adopt = 0.0

    @property
    def backlog(self) -> int:
        """Records spooled and not yet taken by Kafka."""
        return len(self.spool)

    async def append(self, records: Sequence[ProducerRecord], channel: str) -> None:
        """Keep ``records`` on disk until Kafka takes them; raises SpoolFull when full."""
        await self.spool.append(records, channel)
        metrics.SPOOLED_RECORDS.labels(channel).inc(len(records))
        self._report()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="spool-drainer")

    async def close(self, drain_within: float) -> None:
        """Drain for up to ``drain_within`` seconds, then stop; what is left stays on disk."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.backlog:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain_within):
                    await self._drain(self.spool)
            if self.backlog:
                log.warning("spool_left_on_disk", records=self.backlog, path=str(self.spool.path))
        await self.spool.close()

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            drained = await self._drain(self.spool)
            if drained and time.monotonic() - self._last_adopt > _ADOPT_EVERY:
                self._last_adopt = time.monotonic()
                drained = await self._adopt_orphans()
            self._report()
            if drained:
                backoff.reset()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), _IDLE_TICK)
            else:
                await backoff.wait()

    async def _drain(self, spool: Spool) -> bool:
        """Publish ``spool``'s records oldest first; True once it is empty."""
        while len(spool):
            head = await spool.head(_BATCH_RECORDS, _BATCH_BYTES)
            try:
                published = await self._publish(head)
            except PublishError as error:
                log.info("spool_drain_waiting", records=len(spool), error=str(error))
                return False
            await spool.remove_through(head[-1].id)
            for channel, record in published:
                metrics.EVENTS_PUBLISHED.labels(channel, record.kind).inc()
            log.info("spool_drained", records=len(head), left=len(spool), path=str(spool.path))
            self._report()
        return True

    async def _publish(self, head: list[SpooledRecord]) -> list[tuple[str, ProducerRecord]]:
        """Publish ``head`` in one go; if Kafka refuses some record for good, publish each
        alone and put the refused ones on the dead-letter topic instead, so they do not hold
        up every record behind them. Returns what was published, by channel."""
        try:
            await self._publisher.publish([spooled.record for spooled in head])
        except RecordsRefused:
            pass
        else:
            return [(spooled.channel, spooled.record) for spooled in head]
        published: list[tuple[str, ProducerRecord]] = []
        for spooled in head:
            record = spooled.record
            try:
                await self._publisher.publish([record])
            except RecordsRefused as error:
                log.error("spooled_record_refused", topic=record.topic, error=str(error))
                record = to_record(_dead_letter(spooled, error), self._settings, None)
                await self._publisher.publish([record])
            published.append((spooled.channel, record))
        return published

    async def _adopt_orphans(self) -> bool:
        """Drain slots whose owner is gone (a SIGKILLed worker, a scaled-down gateway)."""
        for path in Spool.slots(self._directory):
            if path == self.spool.path:
                continue
            orphan = Spool.try_open(path, self.spool.max_bytes)
            if orphan is None:
                continue
            try:
                if len(orphan):
                    log.info("spool_adopted", path=str(path), records=len(orphan))
                    if not await self._drain(orphan):
                        return False
            finally:
                await orphan.close()
        return True

    def _report(self) -> None:
        stats = self.spool.stats
        metrics.SPOOL_DEPTH.set(stats.depth)
        metrics.SPOOL_BYTES.set(stats.size_bytes)
        oldest = stats.oldest_spooled_at
        metrics.SPOOL_OLDEST_AGE.set(time.time() - oldest if oldest is not None else 0.0)


def _dead_letter(spooled: SpooledRecord, error: RecordsRefused) -> IngestDeadLetter:
    """A spooled record Kafka refuses, kept on the dead-letter topic with the reason."""
    record = spooled.record
    path = f"kafka:{record.topic}"
    correlation = dict(record.headers).get(CORRELATION_ID)
    return IngestDeadLetter(
        event_id=dead_letter_id(path, record.value),
        channel=spooled.channel,
        provider="kafka",
        path=path,
        content_type="application/json",
        body_base64=base64.b64encode(record.value).decode(),
        reason=f"Kafka refused the spooled {record.kind} record: {error}",
        received_at=datetime.fromtimestamp(spooled.spooled_at, UTC),
        correlation_id=correlation.decode() if correlation else None,
    )
