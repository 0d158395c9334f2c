"""Integration fixtures: real servers for the session, fresh topics for every test."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from litestar import Litestar
from litestar.testing import AsyncTestClient

from consumers.deadletters import DeadLetters
from consumers.runner import ConsumerRunner
from consumers.workers import GROUPS, Resources, worker
from contracts import Settings, TenantDirectory, load_tenants
from domain.store.database import Store
from ingest.app import create_app
from ingest.topics import create_topics
from tests.conftest import FIXTURES
from tests.integration.recording import CommandRecorder
from tests.servers import Servers, start_servers
from tests.waiting import WaitTimeout, eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with start_servers() as running:
        yield running


@pytest.fixture
async def settings(servers: Servers, tmp_path: Path) -> Settings:
    """Settings pointing at the real servers, with topics and a spool of this test's own."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=servers.kafka_bootstrap,
        mongo_uri=servers.mongo_uri,
        mongo_db=f"test_{suffix}",
        tenants_file=FIXTURES / "tenants.toml",
        public_base_url="https://gateway.example.com",
        topic_messages=f"chat.messages.v1.{suffix}",
        topic_statuses=f"chat.statuses.v1.{suffix}",
        topic_bookings=f"bookings.events.v1.{suffix}",
        topic_ingest_deadletter=f"ingest.deadletter.v1.{suffix}",
        topic_consumers_deadletter=f"consumers.deadletter.v1.{suffix}",
        topic_media=f"chat.media.v1.{suffix}",
        topic_outbound=f"chat.outbound.v1.{suffix}",
        topic_partitions=3,
        spool_dir=tmp_path / "spool",
        consumer_metrics_port=0,  # tests that read the metrics give a free port
        log_format="console",
        log_level="warning",
    )
    await create_topics(settings)
    return settings


class Record(Protocol):
    """What the tests read of an aiokafka ``ConsumerRecord`` (aiokafka ships no types)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]]


@dataclass
class TopicReader:
    """Reads topics from the beginning, for assertions on what was published."""

    bootstrap: str

    async def read(
        self, topic: str, *, expect: int, within: float = 15.0, settle: float = 0.3
    ) -> list[Record]:
        """Every record on ``topic`` once ``expect`` arrived (and ``settle`` s passed
        without more), or whatever is there after ``within`` seconds; fails when the
        topic's partitions are still unknown then, rather than reading nothing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within

        def left() -> float:
            return max(deadline - loop.time(), 0.0)

        async with self._consumer() as consumer:
            assigned = await _assign(consumer, [topic], within=within)
            await consumer.seek_to_beginning(*assigned)
            records: list[Record] = []

            async def arrived() -> bool:
                if len(records) < expect:
                    records.extend(await _fetch(consumer, wait=max(left(), 0.05)))
                return len(records) >= expect

            async def quiet() -> bool:
                fresh = await _fetch(consumer, wait=settle)
                records.extend(fresh)
                return not fresh

            with contextlib.suppress(WaitTimeout):  # the caller asserts on what arrived
                await eventually(arrived, within=left(), every=0, what=f"{expect} on {topic}")
                await eventually(quiet, within=left(), every=0, what=f"quiet on {topic}")
            return records

    @contextlib.asynccontextmanager
    async def tail(self, *topics: str, within: float = 15.0) -> AsyncIterator["TopicTail"]:
        """A reader of ``topics`` that stays open, for checks after each of many requests."""
        async with self._consumer(fetch_max_wait_ms=20) as consumer:
            assigned = await _assign(consumer, topics, within=within)
            await consumer.seek_to_beginning(*assigned)
            consumer.pause(*assigned)
            yield TopicTail(consumer, assigned)

    @contextlib.asynccontextmanager
    async def _consumer(self, **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **options
        )
        await consumer.start()
        try:
            yield consumer
        finally:
            await consumer.stop()


@dataclass
class TopicTail:
    """Topics read from the beginning, up to their end whenever asked.

    Between calls its partitions are paused, so no idle fetch holds up the next call's
    request for the end offsets (that keeps a call to a few milliseconds)."""

    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition]

    async def catch_up(self, *, within: float = 15.0) -> list[Record]:
        """The records not returned before, up to the topics' end offsets as of this call:
        what was acknowledged before it is certainly among them, with no timeout to wait
        out when nothing was published."""
        ends = await self.consumer.end_offsets(self.partitions)
        fresh: list[Record] = []

        async def behind() -> list[TopicPartition]:
            return [tp for tp, end in ends.items() if await self.consumer.position(tp) < end]

        async def at_end() -> bool:
            lagging = await behind()
            if lagging:
                fresh.extend(await _fetch(self.consumer, *lagging, wait=0.1))
            return not lagging

        topics = ", ".join(sorted({tp.topic for tp in self.partitions}))
        self.consumer.resume(*await behind())
        try:
            await eventually(at_end, within=within, every=0, what=f"the end of {topics}")
        finally:
            self.consumer.pause(*self.partitions)
        return fresh


async def _assign(
    consumer: AIOKafkaConsumer, topics: Sequence[str], *, within: float
) -> list[TopicPartition]:
    """Assign every partition of ``topics``, refreshing metadata until all are known (right
    after topics are created, or a broker restarted, they may not be yet)."""

    async def known() -> list[TopicPartition] | None:
        found = {topic: consumer.partitions_for_topic(topic) for topic in topics}
        if not all(found.values()):
            await consumer._client.force_metadata_update()
            found = {topic: consumer.partitions_for_topic(topic) for topic in topics}
        if not all(found.values()):
            return None
        return [TopicPartition(t, p) for t, partitions in found.items() for p in sorted(partitions)]

    assigned: list[TopicPartition] = await eventually(
        known, within=within, what=f"partitions of {', '.join(topics)}"
    )
    consumer.assign(assigned)
    return assigned


async def _fetch(
    consumer: AIOKafkaConsumer, *partitions: TopicPartition, wait: float
) -> list[Record]:
    batch: dict[TopicPartition, list[Record]] = await consumer.getmany(
        *partitions, timeout_ms=int(wait * 1000)
    )
    return [record for records in batch.values() for record in records]


#: The client of the gateway app run in process, as the ``client`` fixture gives it.
GatewayClient: TypeAlias = AsyncTestClient[Litestar]


@pytest.fixture
def topic_reader(servers: Servers) -> TopicReader:
    return TopicReader(servers.kafka_bootstrap)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[GatewayClient]:
    """The gateway app, in process, publishing to the real broker."""
    app = create_app(settings, tenants=load_tenants(FIXTURES / "tenants.toml"))
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """The repositories over this test's own database, indexes created."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_uri, tz_aware=True
    )
    opened = Store.open(client, settings.mongo_db)
    await opened.ensure_indexes()
    yield opened
    await client.drop_database(settings.mongo_db)
    await client.close()


@pytest.fixture
async def recorded(settings: Settings) -> AsyncIterator[tuple[Store, CommandRecorder]]:
    """Like ``store``, with every command its client sends recorded while asked to."""
    from pymongo import AsyncMongoClient

    recorder = CommandRecorder()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_uri, tz_aware=True, event_listeners=[recorder]
    )
    opened = Store.open(client, settings.mongo_db)
    await opened.ensure_indexes()
    yield opened, recorder
    await client.drop_database(settings.mongo_db)
    await client.close()


@pytest.fixture
async def consumers(
    settings: Settings, store: Store, tenants: TenantDirectory
) -> AsyncIterator[None]:
    """Every worker (bookings, messages, statuses, media, outbound), running against the
    test's topics."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    http = httpx.AsyncClient(timeout=settings.send_timeout.total_seconds())
    resources = Resources(settings, tenants, None, store, producer, http)  # type: ignore[arg-type]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            ConsumerRunner(
                worker(name, resources),
                settings,
                DeadLetters(producer, settings, GROUPS[name]),
                group_id=f"{GROUPS[name]}-{settings.mongo_db}",
            ).run(stop)
        )
        for name in GROUPS
    ]
    yield
    stop.set()
    await asyncio.gather(*tasks)
    await producer.stop()
    await http.aclose()
