"""``GET /v1/events``: the tenant's new messages and thread changes, as Server-Sent Events."""

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import ServerSentEvent
from pymongo.errors import OperationFailure, PyMongoError

from contracts import Settings, Tenant
from domain.store.database import Store
from ingest.api.live import POLL_SECONDS, LiveFeed, resume_token, tenant_events
from ingest.api.schemas.errors import errors
from ingest.errors import BadRequest, ServiceUnavailable


class EventsApi(Controller):
    path = "/v1/events"
    tags = ("events",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get(
        "/",
        response_description="text/event-stream of `message` and `thread` events",
        responses=errors(429),
    )
    async def stream(
        self,
        request: Request[Any, Any, Any],
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        live_feed: NamedDependency[LiveFeed],
        last_event_id: FromQuery[str | None] = None,
    ) -> ServerSentEvent:
        """Each event's ``data`` is a message or a thread as the other endpoints give them;
        reconnecting with ``Last-Event-ID`` (header, or ``last_event_id``) resumes after it.
        A ``resync`` event ends a stream that fell behind: reload, then reconnect without
        ``Last-Event-ID``."""
        token = resume_token(request.headers.get("last-event-id") or last_event_id)
        # Joined first, so nothing between the missed events and the live ones is lost.
        subscription = await live_feed.subscribe(tenant)
        try:
            missed = await store.changes(tenant.id, token, POLL_SECONDS) if token else None
        except OperationFailure as error:
            live_feed.unsubscribe(subscription)
            raise BadRequest(
                "Last-Event-ID cannot be resumed from (unknown or expired)",
                details=[{"field": "Last-Event-ID"}],
            ) from error
        except PyMongoError as error:
            live_feed.unsubscribe(subscription)
            raise ServiceUnavailable("the message store is unreachable") from error
        heartbeat = settings.sse_heartbeat.total_seconds()
        return ServerSentEvent(
            tenant_events(live_feed, subscription, missed, store, heartbeat),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
