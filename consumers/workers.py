"""Everything a consumer process holds, born at start and closed at the end, and the runner of
each worker."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clients import kafka
from clients.backoff import Backoff
from clients.mongo import MongoConfigurationError, misconfiguration, mongo_client
from consumers.bookings import BookingsHandler
from consumers.deadletters import DeadLetters
from consumers.media import MediaChunksHandler, MediaFetcher, MediaHandler
from consumers.messages import SCHEMAS as MESSAGE_SCHEMAS
from consumers.messages import MessagesHandler
from consumers.outbound import OutboundHandler
from consumers.runner import ConsumerRunner, Worker, decode_by_schema, decode_json_model
from consumers.senders import senders
from consumers.statuses import StatusesHandler
from contracts import (
    BookingEvent,
    MediaChunkEvent,
    MessageEvent,
    OutboundEvent,
    Settings,
    StatusEvent,
    TenantDirectory,
)
from domain.store.database import Store

log = structlog.get_logger(__name__)

#: The consumer group of each worker: every copy of a worker shares its group.
GROUPS = {
    "bookings": "threadline-bookings",
    "messages": "threadline-messages",
    "statuses": "threadline-statuses",
    # (v1.1) Records the messages' attachments; the same process also writes emails'
    # attachment chunks (MEDIA_FILES_GROUP) and fetches the files.
    "media": "threadline-media",
    # (v1.1) Sends the replies staff write (chat.outbound.v1).
    "outbound": "threadline-outbound",
}
MEDIA_FILES_GROUP = "threadline-media-files"


class Runnable(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


#: A worker waits this long for MongoDB on each operation before backing off.
_MONGO_SERVER_SELECTION = timedelta(seconds=5)


@dataclass
class Resources:
    settings: Settings
    tenants: TenantDirectory
    mongo: AsyncMongoClient[dict[str, Any]]
    store: Store
    producer: AIOKafkaProducer
    #: (v1.1) For the providers' APIs (replies); each request has its own timeout.
    http: httpx.AsyncClient


async def _retry_until_up(
    what: str, start: Callable[[], Awaitable[Any]], stop: asyncio.Event
) -> None:
    backoff = Backoff()
    while not stop.is_set():
        try:
            await start()
        except PyMongoError as error:
            if reason := misconfiguration(error):
                raise MongoConfigurationError(reason) from error
            log.warning(
                "dependency_unreachable", dependency=what, error=str(error), retry_in=backoff.delay
            )
            await backoff.wait()
        except (KafkaError, OSError) as error:
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
    http = httpx.AsyncClient(timeout=settings.send_timeout.total_seconds(), follow_redirects=False)
    try:
        await _retry_until_up("mongodb", store.ensure_indexes, stop)
        await _retry_until_up("kafka", producer.start, stop)
        yield Resources(settings, tenants, mongo, store, producer, http)
    finally:
        with contextlib.suppress(KafkaError):
            await producer.stop()
        await http.aclose()
        await mongo.close()


def runners(names: list[str], res: Resources) -> list[Runnable]:
    """The runners for the named workers."""
    built: list[Runnable] = []
    for name in names:
        built.append(_runner(worker(name, res), GROUPS[name], res))
        if name == "media":
            chunks = MediaChunksHandler(res.store, res.tenants)
            files = Worker(
                name="media-files",
                topic=res.settings.topic_media,
                decode=decode_json_model(MediaChunkEvent),
                handle=chunks.handle,
            )
            built.append(_runner(files, MEDIA_FILES_GROUP, res))
            built.append(MediaFetcher(res.store, res.tenants, res.settings))
    return built


def _runner(handled: Worker[Any], group: str, res: Resources) -> ConsumerRunner[Any]:
    dead_letters = DeadLetters(res.producer, res.settings, group)
    return ConsumerRunner(handled, res.settings, dead_letters, group_id=group)


def worker(name: str, res: Resources) -> Worker[Any]:
    """The worker that handles ``name``'s topic."""
    if name == "bookings":
        bookings = BookingsHandler(res.store, res.tenants)
        return Worker(
            name=name,
            topic=res.settings.topic_bookings,
            decode=decode_json_model(BookingEvent),
            handle=bookings.handle,
            handle_batch=bookings.handle_batch,
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
    if name == "media":
        media = MediaHandler(res.store, res.tenants, res.settings)
        return Worker(
            name=name,
            topic=res.settings.topic_messages,
            decode=decode_by_schema(MESSAGE_SCHEMAS, default=MessageEvent),
            handle=media.handle,
            handle_batch=media.handle_batch,
        )
    if name == "outbound":
        replies = OutboundHandler(
            res.store, res.tenants, res.settings, senders(res.settings, res.http)
        )
        return Worker(
            name=name,
            topic=res.settings.topic_outbound,
            decode=decode_json_model(OutboundEvent),
            handle=replies.handle,
        )
    statuses = StatusesHandler(res.store, res.tenants)
    return Worker(
        name=name,
        topic=res.settings.topic_statuses,
        decode=decode_json_model(StatusEvent),
        handle=statuses.handle,
    )
