"""The gateway application, assembled in one place."""

from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import ResponseHeader
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from contracts import Settings, TenantDirectory, get_settings, load_tenants
from contracts.logs import configure_logging
from ingest.api.customers import CustomersApi
from ingest.api.events import EventsApi
from ingest.api.export import ExportApi
from ingest.api.media import MediaApi
from ingest.api.messages import MessagesApi
from ingest.api.openapi import tighten_request_schemas
from ingest.api.outbound import RepliesApi, UploadLinksApi, UploadsApi
from ingest.api.templates import TemplatesApi
from ingest.api.threads import ThreadsApi
from ingest.bodies import GatewayRequest
from ingest.correlation import CorrelationIdMiddleware
from ingest.deadline import DatabaseDeadlineMiddleware
from ingest.errors import EXCEPTION_HANDLERS
from ingest.gateway import Gateway
from ingest.metrics import ResponseCounter
from ingest.operations import Operations
from ingest.webhooks.bookings import BookingEvents
from ingest.webhooks.email import EmailWebhooks
from ingest.webhooks.meta import MetaWebhooks
from ingest.webhooks.publisher import Publisher
from ingest.webhooks.twilio import TwilioWebhooks

#: Assets the gateway serves itself, so its pages work with the machine offline.
STATIC = Path(__file__).parent / "static"

_OPENAPI = OpenAPIConfig(
    title="Threadline",
    version="1.0.0",
    path="/schema",
    # Swagger UI from this gateway (ingest/static/openapi, vendored with its licence), never
    # from a CDN; the document itself at /schema/openapi.json (and .yaml).
    render_plugins=[
        SwaggerRenderPlugin(
            version="5.18.2",
            js_url="/static/openapi/swagger-ui-bundle.js",
            css_url="/static/openapi/swagger-ui.css",
            standalone_preset_js_url="/static/openapi/swagger-ui-standalone-preset.js",
            favicon="<link rel='icon' type='image/png' href='/static/openapi/favicon-32x32.png'>",
            path=["/", "/swagger"],
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ],
    components=Components(
        security_schemes={
            "ApiKey": SecurityScheme(
                type="http", scheme="bearer", description="the tenant's API key"
            )
        }
    ),
)


#: The web app loads nothing but its own files and talks only to this gateway.
_APP_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def _web_app() -> Router:
    """``/app/``: the reference Chats page and customer pages, plain modules over ``/v1``."""
    return Router(
        path="/",
        route_handlers=[
            create_static_files_router(
                path="/app",
                directories=[STATIC / "app"],
                html_mode=True,
                name="app",
                include_in_schema=False,
            )
        ],
        response_headers=[
            ResponseHeader(name="Content-Security-Policy", value=_APP_POLICY),
            ResponseHeader(name="Referrer-Policy", value="no-referrer"),
        ],
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
                route_handlers=[ThreadsApi, CustomersApi, MessagesApi, RepliesApi],
                middleware=[
                    DefineMiddleware(
                        DatabaseDeadlineMiddleware,
                        seconds=settings.api_database_timeout.total_seconds(),
                    )
                ],
            ),
            EventsApi,
            MediaApi,
            UploadLinksApi,
            # Asks the Graph API: outside the database deadline.
            TemplatesApi,
            # Files staff attach to replies may be far larger than any JSON body.
            Router(
                path="/",
                route_handlers=[UploadsApi],
                request_max_body_size=settings.upload_max_bytes + 64 * 1024,
            ),
            ExportApi,
            create_static_files_router(
                path="/static", directories=[STATIC], include_in_schema=False
            ),
            _web_app(),
        ],
        lifespan=[gateway.lifespan],
        dependencies=gateway.dependencies(),
        middleware=[CorrelationIdMiddleware, ResponseCounter],
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
