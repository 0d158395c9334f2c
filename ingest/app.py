"""The gateway application, assembled in one place."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from consumers.store.database import Store
from consumers.store.replay_tokens import ReplayTokens
from contracts import Settings, TenantDirectory, get_settings, load_tenants
from contracts.logs import configure_logging
from ingest.correlation import CorrelationIdMiddleware
from ingest.errors import EXCEPTION_HANDLERS
from ingest.openapi import tighten_request_schemas
from ingest.publisher import KafkaPublisher, Publisher
from ingest.replay import ReplayGuard, TokenCache
from ingest.routes.bookings import BookingEvents
from ingest.routes.customers import CustomersApi
from ingest.routes.deps import provide_customer_service, provide_store, provide_tenant
from ingest.routes.email import EmailWebhooks
from ingest.routes.events import EventsApi
from ingest.routes.meta import MetaWebhooks
from ingest.routes.operations import Operations
from ingest.routes.threads import ThreadsApi
from ingest.routes.twilio import TwilioWebhooks
from ingest.service import Ingestor
from ingest.spool import Spool
from ingest.spooler import Spooler

log = structlog.get_logger(__name__)


async def _ensure_indexes(store: Store) -> None:
    """The read API's queries need the store's indexes; webhooks must not wait for MongoDB."""
    try:
        await store.ensure_indexes()
    except PyMongoError as error:
        log.warning("indexes_not_ensured", error=str(error))


def create_app(
    settings: Settings | None = None,
    *,
    tenants: TenantDirectory | None = None,
    publisher: Publisher | None = None,
) -> Litestar:
    """The Litestar app; ``publisher`` replaces the Kafka producer (tests of pure logic)."""
    settings = settings or get_settings()
    tenants = tenants or load_tenants(settings.tenants_file)
    configure_logging(settings)
    kafka = publisher or KafkaPublisher(settings)
    ingestor = Ingestor(kafka, settings, tenants)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_uri, serverSelectionTimeoutMS=2000, tz_aware=True
        )
        app.state.mongo = mongo
        app.state.store = Store.open(mongo, settings.mongo_db)
        indexing = asyncio.create_task(_ensure_indexes(app.state.store))
        app.state.mailgun_tokens = ReplayGuard(
            ReplayTokens.from_client(mongo, settings.mongo_db, settings.mailgun_max_age * 2),
            TokenCache(ttl=settings.mailgun_max_age.total_seconds() * 2),
        )
        if settings.spool_max_bytes:
            spool = Spool.claim(settings.spool_dir, settings.spool_max_bytes)
            ingestor.spooler = Spooler(spool, kafka, settings)
            log.info("spool_claimed", path=str(spool.path), records=len(spool))
        if isinstance(kafka, KafkaPublisher):
            await kafka.start()
            await kafka.wait_connected(settings.publish_timeout.total_seconds())
        if ingestor.spooler is not None:
            ingestor.spooler.start()
        # Everything built so far lives as long as the process: keep the collector off it.
        gc.freeze()
        log.info("gateway_started", tenants=len(tenants.tenants))
        try:
            yield
        finally:
            indexing.cancel()
            if ingestor.spooler is not None:
                await ingestor.spooler.close(drain_within=settings.publish_timeout.total_seconds())
                ingestor.spooler = None
            if isinstance(kafka, KafkaPublisher):
                await kafka.close()
            await mongo.close()

    def provide_mongo(state: State) -> AsyncMongoClient[dict[str, Any]]:
        client: AsyncMongoClient[dict[str, Any]] = state.mongo
        return client

    email = Router(
        path="/",
        route_handlers=[EmailWebhooks],
        request_max_body_size=settings.max_email_body_bytes,
    )

    def provide_mailgun_tokens(state: State) -> ReplayGuard:
        guard: ReplayGuard = state.mailgun_tokens
        return guard

    app = Litestar(
        route_handlers=[
            Operations,
            MetaWebhooks,
            TwilioWebhooks,
            email,
            BookingEvents,
            ThreadsApi,
            CustomersApi,
            EventsApi,
        ],
        lifespan=[lifespan],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            "ingestor": Provide(lambda: ingestor, sync_to_thread=False, use_cache=True),
            "publisher": Provide(lambda: kafka, sync_to_thread=False, use_cache=True),
            "mailgun_tokens": Provide(provide_mailgun_tokens, sync_to_thread=False),
            "mongo": Provide(provide_mongo, sync_to_thread=False),
            "tenants": Provide(lambda: tenants, sync_to_thread=False, use_cache=True),
            "tenant": Provide(provide_tenant, sync_to_thread=False),
            "store": Provide(provide_store, sync_to_thread=False),
            "customer_service": Provide(provide_customer_service, sync_to_thread=False),
        },
        middleware=[CorrelationIdMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Threadline",
            version="1.0.0",
            path="/schema",
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="http", scheme="bearer", description="the tenant's API key"
                    )
                }
            ),
        ),
        logging_config=None,
        debug=False,
    )
    tighten_request_schemas(app)
    return app
