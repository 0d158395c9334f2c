"""What one gateway process holds: its settings, tenants and clients, born in the lifespan,
closed after it, and handed to the routes by dependency injection."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from litestar import Litestar
from litestar.di import Provide
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clients.mongo import mongo_client
from contracts import Settings, TenantDirectory
from domain.store.database import Store
from domain.store.webhook_tokens import WebhookTokens
from ingest.api.cursors import Cursors, cursor_key
from ingest.api.dependencies import provide_customer_service, provide_tenant
from ingest.api.live import LiveFeed
from ingest.webhooks.pipeline import Ingestor
from ingest.webhooks.publisher import KafkaPublisher, Publisher
from ingest.webhooks.spool import Spool
from ingest.webhooks.spooler import Spooler
from ingest.webhooks.used_tokens import RecentTokens, UsedTokens

log = structlog.get_logger(__name__)

#: The read API answers 503 this soon when MongoDB cannot be reached.
_MONGO_SERVER_SELECTION = timedelta(seconds=2)


@dataclass
class Clients:
    """The clients opened by the lifespan."""

    mongo: AsyncMongoClient[dict[str, Any]]
    store: Store
    mailgun_tokens: UsedTokens
    live_feed: LiveFeed


@dataclass
class Gateway:
    settings: Settings
    tenants: TenantDirectory
    publisher: Publisher
    ingestor: Ingestor
    cursors: Cursors
    _clients: Clients | None = field(default=None, init=False)

    @classmethod
    def build(
        cls, settings: Settings, tenants: TenantDirectory, publisher: Publisher | None = None
    ) -> "Gateway":
        """``publisher`` replaces the Kafka producer (tests of pure logic)."""
        kafka = publisher or KafkaPublisher(settings)
        cursors = Cursors(cursor_key(settings, tenants), max_age=settings.cursor_max_age)
        return cls(settings, tenants, kafka, Ingestor(kafka, settings, tenants), cursors)

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            raise RuntimeError("the gateway's lifespan has not started")
        return self._clients

    def dependencies(self) -> dict[str, Provide]:
        """What route handlers may ask for, by parameter name."""

        def constant(value: Any) -> Provide:
            return Provide(lambda: value, sync_to_thread=False, use_cache=True)

        return {
            "settings": constant(self.settings),
            "tenants": constant(self.tenants),
            "ingestor": constant(self.ingestor),
            "outbox": constant(self.ingestor),
            "publisher": constant(self.publisher),
            "mongo": Provide(self._mongo, sync_to_thread=False),
            "store": Provide(self._store, sync_to_thread=False),
            "mailgun_tokens": Provide(self._mailgun_tokens, sync_to_thread=False),
            "live_feed": Provide(self._live_feed, sync_to_thread=False),
            "cursors": constant(
                Cursors(
                    cursor_key(self.settings, self.tenants), max_age=self.settings.cursor_max_age
                )
            ),
            "tenant": Provide(provide_tenant, sync_to_thread=False),
            "customer_service": Provide(provide_customer_service, sync_to_thread=False),
        }

    def _mongo(self) -> AsyncMongoClient[dict[str, Any]]:
        return self.clients.mongo

    def _store(self) -> Store:
        return self.clients.store

    def _mailgun_tokens(self) -> UsedTokens:
        return self.clients.mailgun_tokens

    def _live_feed(self) -> LiveFeed:
        return self.clients.live_feed

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        """Open MongoDB, the spool and Kafka; webhooks never wait for MongoDB."""
        settings = self.settings
        mongo = mongo_client(settings, server_selection=_MONGO_SERVER_SELECTION)
        store = Store.open(mongo, settings.mongo_db)
        token_ttl = settings.mailgun_max_age * 2
        self._clients = Clients(
            mongo=mongo,
            store=store,
            mailgun_tokens=UsedTokens(
                WebhookTokens(mongo[settings.mongo_db], token_ttl),
                RecentTokens(ttl=token_ttl.total_seconds()),
            ),
            live_feed=LiveFeed(
                store,
                queue_size=settings.sse_queue_size,
                streams_per_tenant=settings.sse_streams_per_tenant,
            ),
        )
        indexing = asyncio.create_task(_ensure_indexes(store))
        ingestor = self.ingestor
        if settings.spool_max_bytes:
            spool = Spool.claim(settings.spool_dir, settings.spool_max_bytes)
            ingestor.spooler = Spooler(spool, self.publisher, settings)
            log.info("spool_claimed", path=str(spool.path), records=len(spool))
        if isinstance(self.publisher, KafkaPublisher):
            await self.publisher.start()
            await self.publisher.wait_connected(settings.publish_timeout.total_seconds())
        if ingestor.spooler is not None:
            ingestor.spooler.start()
        # Everything built so far lives as long as the process: keep the collector off it.
        gc.freeze()
        log.info("gateway_started", tenants=len(self.tenants.tenants))
        try:
            yield
        finally:
            indexing.cancel()
            await self.clients.live_feed.close()
            if ingestor.spooler is not None:
                await ingestor.spooler.close(drain_within=settings.publish_timeout.total_seconds())
                ingestor.spooler = None
            if isinstance(self.publisher, KafkaPublisher):
                await self.publisher.close()
            await mongo.close()
            self._clients = None


async def _ensure_indexes(store: Store) -> None:
    """The read API's queries need the store's indexes; webhooks must not wait for MongoDB."""
    try:
        await store.ensure_indexes()
    except PyMongoError as error:
        log.warning("indexes_not_ensured", error=str(error))
