"""The gateway application, assembled in one place."""

from litestar import Litestar, Router
from litestar.datastructures import ResponseHeader
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from contracts import Settings, TenantDirectory, get_settings, load_tenants
from contracts.logs import configure_logging
from ingest.api.customers import CustomersApi
from ingest.api.events import EventsApi
from ingest.api.export import ExportApi
from ingest.api.media import MediaApi
from ingest.api.messages import MessagesApi
from ingest.api.openapi import tighten_request_schemas
from ingest.api.threads import ThreadsApi
from ingest.bodies import GatewayRequest
from ingest.correlation import CorrelationIdMiddleware
from ingest.deadline import DatabaseDeadlineMiddleware
from ingest.errors import EXCEPTION_HANDLERS
from ingest.gateway import Gateway
from ingest.operations import Operations
from ingest.webhooks.bookings import BookingEvents
from ingest.webhooks.email import EmailWebhooks
from ingest.webhooks.meta import MetaWebhooks
from ingest.webhooks.publisher import Publisher
from ingest.webhooks.twilio import TwilioWebhooks

_OPENAPI = OpenAPIConfig(
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
)


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
    gateway = Gateway.build(settings, tenants, publisher)
    # Emails may be far larger than any other webhook.
    email = Router(
        path="/",
        route_handlers=[EmailWebhooks],
        request_max_body_size=settings.max_email_body_bytes,
    )
    app = Litestar(
        route_handlers=[
            Operations,
            # Webhooks, and booking events over HTTP: published to Kafka before the answer.
            MetaWebhooks,
            TwilioWebhooks,
            email,
            BookingEvents,
            # The read API, over the store; live streams last as long as the client wants.
            Router(
                path="/",
                route_handlers=[ThreadsApi, CustomersApi, MessagesApi],
                middleware=[
                    DefineMiddleware(
                        DatabaseDeadlineMiddleware,
                        seconds=settings.api_database_timeout.total_seconds(),
                    )
                ],
            ),
            EventsApi,
            MediaApi,
            ExportApi,
        ],
        lifespan=[gateway.lifespan],
        dependencies=gateway.dependencies(),
        middleware=[CorrelationIdMiddleware],
        request_class=GatewayRequest,
        # No answer is to be sniffed into something else (the Meta handshake echoes input).
        response_headers=[ResponseHeader(name="X-Content-Type-Options", value="nosniff")],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=_OPENAPI,
        logging_config=None,
        debug=False,
    )
    tighten_request_schemas(app)
    return app
