"""Integration fixtures: real servers for the session, fresh topics for every test."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from litestar.testing import AsyncTestClient

from consumers.deadletters import DeadLetters
from consumers.runner import ConsumerRunner
from consumers.workers import GROUPS, Resources, worker
from contracts import Settings, TenantDirectory, load_tenants
from domain.store.database import Store
from ingest.app import create_app
from ingest.topics import create_topics
from tests.conftest import FIXTURES
from tests.servers import Servers, start_servers

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
        topic_partitions=3,
        spool_dir=tmp_path / "spool",
        log_format="console",
        log_level="warning",
    )
    await create_topics(settings)
    return settings


@dataclass
class TopicReader:
    """Reads a topic from the beginning, for assertions on what was published."""

    bootstrap: str

    async def read(
        self, topic: str, *, expect: int, within: float = 15.0, settle: float = 0.3
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record on ``topic`` once ``expect`` arrived (and ``settle`` s passed
        without more), or whatever is there after ``within`` seconds."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            assigned = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            records: list[ConsumerRecord[bytes, bytes]] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while loop.time() < deadline:
                wait = settle if len(records) >= expect else deadline - loop.time()
                batch = await consumer.getmany(timeout_ms=int(max(wait, 0.05) * 1000))
                fresh = [record for part in batch.values() for record in part]
                if not fresh and len(records) >= expect:
                    break
                records.extend(fresh)
            return records
        finally:
            await consumer.stop()


@pytest.fixture
def topic_reader(servers: Servers) -> TopicReader:
    return TopicReader(servers.kafka_bootstrap)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
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
async def consumers(
    settings: Settings, store: Store, tenants: TenantDirectory
) -> AsyncIterator[None]:
    """The bookings, messages and statuses workers, running against the test's topics."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    resources = Resources(settings, tenants, None, store, producer)  # type: ignore[arg-type]
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


async def eventually(check: Any, *, within: float = 30.0) -> Any:
    """Await ``check()`` until it gives something truthy, and return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("not stored in time")
        await asyncio.sleep(0.1)
