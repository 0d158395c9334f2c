"""Publishing records to Kafka, acknowledged by every in-sync replica before we answer."""

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from clients import kafka
from clients.backoff import Backoff
from contracts import Settings
from ingest.webhooks.records import ProducerRecord

log = structlog.get_logger(__name__)


class PublishError(Exception):
    """Kafka did not acknowledge every record in time; the caller must not claim success."""


class RecordsRefused(PublishError):
    """Kafka will never take these records as they are (too large for the topic or broker):
    waiting or retrying cannot help, so they must not be spooled."""


#: Refusals no retry cures.
_PERMANENT = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


@runtime_checkable
class Publisher(Protocol):
    """What the gateway needs from Kafka; tests of pure logic may hand in a fake."""

    async def publish(self, records: Sequence[ProducerRecord]) -> None:
        """Return once every record is acknowledged; raise PublishError otherwise."""

    async def ping(self) -> bool:
        """Whether the broker answers a metadata request now."""


class KafkaPublisher:
    """An aiokafka producer with ``acks=all``, connected in the background.

    The gateway starts even when Kafka is down (``/health`` answers, webhooks get 503) and
    connects as soon as the broker is reachable.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = settings.publish_timeout.total_seconds()
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        #: Why the Kafka settings cannot work (KafkaConfigurationError), once found out.
        self.misconfigured: str | None = None

    def _new_producer(self) -> AIOKafkaProducer:
        timeout_ms = int(self._timeout * 1000)
        return kafka.producer(
            self._settings,
            client_id="threadline-gateway",
            linger_ms=self._settings.kafka_linger_ms,
            request_timeout_ms=max(timeout_ms, 1000),
            retry_backoff_ms=100,
            metadata_max_age_ms=60_000,
        )

    async def start(self) -> None:
        """Begin connecting; returns at once."""
        self._connecting = asyncio.create_task(self._connect(), name="kafka-connect")

    async def _connect(self) -> None:
        backoff = Backoff()
        while True:
            producer = self._new_producer()
            try:
                await producer.start()
            except KafkaError as error:
                await producer.stop()
                try:
                    # Whether it is the certificate, which no waiting cures.
                    await kafka.check_tls(self._settings)
                except kafka.KafkaConfigurationError as misconfigured:
                    # Webhooks get 503 and /ready names the setting.
                    self.misconfigured = str(misconfigured)
                    log.error("kafka_misconfigured", error=self.misconfigured)
                    return
                log.warning("kafka_unreachable", error=str(error), retry_in=backoff.delay)
                await backoff.wait()
                continue
            self._producer = producer
            log.info("kafka_connected", bootstrap=self._settings.kafka_bootstrap)
            return

    async def wait_connected(self, within: float) -> bool:
        """Wait up to ``within`` seconds for the first connection."""
        if self._connecting is None:
            return self._producer is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._connecting), within)
        return self._producer is not None

    async def close(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, records: Sequence[ProducerRecord]) -> None:
        producer = self._producer
        if producer is None:
            raise PublishError("not connected to Kafka yet")
        try:
            async with asyncio.timeout(self._timeout):
                await self._send_all(producer, records)
        except TimeoutError as error:
            raise PublishError(f"Kafka did not acknowledge within {self._timeout}s") from error
        except _PERMANENT as error:
            raise RecordsRefused(f"Kafka refuses the records: {error!r}") from error
        except KafkaError as error:
            raise PublishError(f"Kafka refused the records: {error}") from error

    @staticmethod
    async def _send_all(producer: AIOKafkaProducer, records: Sequence[ProducerRecord]) -> None:
        # Enqueue everything first so the records share batches, then wait for every ack.
        acks = [
            await producer.send(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
            for record in records
        ]
        await asyncio.gather(*acks)

    async def ping(self) -> bool:
        producer = self._producer
        if producer is None:
            return False
        try:
            await asyncio.wait_for(
                producer.client.fetch_all_metadata(),
                self._settings.ready_timeout.total_seconds(),
            )
        except (TimeoutError, KafkaError):
            return False
        return True
