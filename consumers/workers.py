"""Everything a consumer process holds, born at start and closed at the end, and the runner of
each worker."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clients import kafka
from clients.backoff import Backoff
from clients.mongo import mongo_client
from consumers.bookings import BookingsHandler
from consumers.deadletters import DeadLetters
from consumers.messages import SCHEMAS as MESSAGE_SCHEMAS
from consumers.messages import MessagesHandler
from consumers.runner import ConsumerRunner, Worker, decode_by_schema, decode_json_model
from consumers.statuses import StatusesHandler
from contracts import BookingEvent, MessageEvent, Settings, StatusEvent, TenantDirectory
from domain.store.database import Store

log = structlog.get_logger(__name__)

#: The consumer group of each worker: every copy of a worker shares its group.
GROUPS = {
    "bookings": "threadline-bookings",
    "messages": "threadline-messages",
    "statuses": "threadline-statuses",
}

#: A worker waits this long for MongoDB on each operation before backing off.
_MONGO_SERVER_SELECTION = timedelta(seconds=5)


@dataclass
class Resources:
    settings: Settings
    tenants: TenantDirectory
    mongo: AsyncMongoClient[dict[str, Any]]
    store: Store
    producer: AIOKafkaProducer


async def _retry_until_up(
    what: str, start: Callable[[], Awaitable[Any]], stop: asyncio.Event
) -> None:
    backoff = Backoff()
    while not stop.is_set():
        try:
            await start()
        except (KafkaError, PyMongoError, OSError) as error:
            log.warning(
                "dependency_unreachable", dependency=what, error=str(error), retry_in=backoff.delay
            )
            await backoff.wait()
        else:
            return


@contextlib.asynccontextmanager
async def resources(
    settings: Settings, tenants: TenantDirectory, stop: asyncio.Event
) -> AsyncIterator[Resources]:
    """Connect to MongoDB (indexes ensured) and Kafka (dead-letter producer), waiting for both."""
    mongo = mongo_client(settings, server_selection=_MONGO_SERVER_SELECTION)
    store = Store.open(mongo, settings.mongo_db)
    producer = kafka.producer(settings, client_id="threadline-consumers")
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
            decode=decode_by_schema(MESSAGE_SCHEMAS, default=MessageEvent),
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
