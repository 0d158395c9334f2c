"""The servers and clients a consumer benchmark runs against, set up the same way each time."""

import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from devstack import EmbeddedKafka, EmbeddedMongo, ManagedProcess, free_port, running, wait_for_port
from pymongo import AsyncMongoClient

from clients import kafka
from clients.mongo import mongo_client
from contracts import Settings
from contracts.logs import configure_logging
from domain.store.database import Store
from ingest.topics import create_topics
from ingest.webhooks.records import AnyEvent, to_record


@dataclass(frozen=True)
class ConsumerFigures:
    """A worker draining a filled topic, against bulk writes of as many documents."""

    events: int
    consumer_seconds: float
    baseline_seconds: float
    #: What the baseline does, for example "bulk upserts".
    baseline: str

    def as_dict(self) -> dict[str, Any]:
        consumer_rate = self.events / self.consumer_seconds
        baseline_rate = self.events / self.baseline_seconds
        return {
            "events": self.events,
            "consumer_events_per_second": round(consumer_rate, 1),
            "baseline": self.baseline,
            "baseline_per_second": round(baseline_rate, 1),
            "ratio": round(consumer_rate / baseline_rate, 4),
        }


@dataclass(frozen=True)
class BenchStack:
    settings: Settings
    producer: AIOKafkaProducer
    client: AsyncMongoClient[dict[str, Any]]
    store: Store
    #: The database server's process, whose CPU a benchmark may count.
    database_pid: int

    async def fill(self, events: Iterable[AnyEvent]) -> None:
        """Put ``events`` on their topics, keyed as the gateway keys them."""
        for event in events:
            record = to_record(event, self.settings, None)
            await self.producer.send(record.topic, value=record.value, key=record.key)
        await self.producer.flush()


@contextlib.asynccontextmanager
async def embedded_stack() -> AsyncIterator[BenchStack]:
    """Fresh embedded broker and database, topics created, indexes ensured."""
    broker, mongo = EmbeddedKafka(), EmbeddedMongo()
    with running(broker, mongo):
        settings = Settings(
            kafka_bootstrap=broker.bootstrap,
            mongo_uri=mongo.uri,
            mongo_db=f"bench_{uuid.uuid4().hex[:8]}",
            log_level="warning",
        )
        configure_logging(settings)
        await create_topics(settings)
        producer = kafka.producer(settings, client_id="threadline-bench")
        await producer.start()
        client = mongo_client(settings, server_selection=timedelta(seconds=30))
        store = Store.open(client, settings.mongo_db)
        assert mongo.process is not None
        try:
            await store.ensure_indexes()
            yield BenchStack(settings, producer, client, store, mongo.process.pid)
        finally:
            await producer.stop()
            await client.close()


ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def running_service(stack: BenchStack, tenants: str) -> Iterator[int]:
    """A ``python -m ingest`` process and a ``python -m consumers messages`` process on the
    stack, with ``tenants`` as their tenants file; yields the gateway's port once it listens."""
    settings = stack.settings
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    (workdir / "tenants.toml").write_text(tenants)
    port = free_port()
    env = {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "THREADLINE_MONGO_URI": settings.mongo_uri,
        "THREADLINE_MONGO_DB": settings.mongo_db,
        "THREADLINE_TENANTS_FILE": str(workdir / "tenants.toml"),
        "THREADLINE_SPOOL_DIR": str(workdir / "spool"),
        "THREADLINE_TOPIC_MESSAGES": settings.topic_messages,
        "THREADLINE_HTTP_PORT": str(port),
        "THREADLINE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    gateway = ManagedProcess("gateway", [sys.executable, "-m", "ingest"])
    consumer = ManagedProcess("consumers", [sys.executable, "-m", "consumers", "messages"])
    gateway.start(env=env)
    consumer.start(env=env)
    try:
        assert gateway.process is not None
        wait_for_port(port, timeout=30, process=gateway.process)
        yield port
    finally:
        consumer.stop()
        gateway.stop()
