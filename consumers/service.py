"""Everything a consumer process holds: clients born at start, closed at the end."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from consumers.runner import ConsumerRunner, DeadLetters, Worker, decode_json_model
from consumers.statuses import StatusesHandler
from consumers.store.database import Store
from contracts import BookingEvent, MessageEvent, Settings, StatusEvent, TenantDirectory

log = structlog.get_logger(__name__)

#: The consumer group of each worker: every copy of a worker shares its group.
GROUPS = {
    "bookings": "threadline-bookings",
    "messages": "threadline-messages",
    "statuses": "threadline-statuses",
}


@dataclass
class Resources:
    settings: Settings
    tenants: TenantDirectory
    mongo: AsyncMongoClient[dict[str, Any]]
    store: Store
    producer: AIOKafkaProducer


async def _retry_until_up(what: str, start: Any, stop: asyncio.Event) -> None:
    delay = 0.2
    while not stop.is_set():
        try:
            await start()
        except (KafkaError, PyMongoError, OSError) as error:
            log.warning("dependency_unreachable", dependency=what, error=str(error), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            return


@contextlib.asynccontextmanager
async def resources(
    settings: Settings, tenants: TenantDirectory, stop: asyncio.Event
) -> AsyncIterator[Resources]:
    """Connect to MongoDB (indexes ensured) and Kafka (dead-letter producer), waiting for both."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    store = Store.open(mongo, settings.mongo_db)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="threadline-consumers",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.kafka_max_request_bytes,
    )
    try:
        await _retry_until_up("mongodb", store.ensure_indexes, stop)
        await _retry_until_up("kafka", producer.start, stop)
        yield Resources(settings, tenants, mongo, store, producer)
    finally:
        with contextlib.suppress(KafkaError):
            await producer.stop()
        await mongo.close()


def runners(names: list[str], res: Resources) -> list[ConsumerRunner[Any]]:
    """The runners for the named workers."""
    built: list[ConsumerRunner[Any]] = []
    for name in names:
        group = GROUPS[name]
        dead_letters = DeadLetters(res.producer, res.settings, group)
        built.append(ConsumerRunner(worker(name, res), res.settings, dead_letters, group_id=group))
    return built


def worker(name: str, res: Resources) -> Worker[Any]:
    """The worker that handles ``name``'s topic."""
    if name == "bookings":
        bookings = BookingsHandler(res.store, res.tenants)
        return Worker(
            name=name,
            topic=res.settings.topic_bookings,
            decode=decode_json_model(BookingEvent),
            handle=bookings.handle,
        )
    if name == "messages":
        messages = MessagesHandler(res.store, res.tenants)
        return Worker(
            name=name,
            topic=res.settings.topic_messages,
            decode=decode_json_model(MessageEvent),
            handle=messages.handle,
            handle_batch=messages.handle_batch,
        )
    statuses = StatusesHandler(res.store, res.tenants)
    return Worker(
        name=name,
        topic=res.settings.topic_statuses,
        decode=decode_json_model(StatusEvent),
        handle=statuses.handle,
    )
