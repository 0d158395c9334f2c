"""What every webhook route does around its adapter: read, authenticate, ingest, count."""

from datetime import UTC, datetime
from typing import Any

import structlog
from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from ingest import metrics
from ingest.auth import CREDENTIAL_HEADERS, refuse_repeated
from ingest.correlation import current_correlation_id
from ingest.errors import BadRequest, Unauthorized
from ingest.webhooks.channels.base import Parser
from ingest.webhooks.pipeline import Ingested, Ingestor, RawRequest

log = structlog.get_logger(__name__)


async def read_request(request: Request[Any, Any, Any], channel: str, provider: str) -> RawRequest:
    """The request's exact bytes and lower-cased headers; 413 when over the route's limit,
    400 when it repeats a signature or its content type."""
    try:
        refuse_repeated(request.scope["headers"], CREDENTIAL_HEADERS)
    except BadRequest:
        metrics.WEBHOOK_REQUESTS.labels(channel, provider, "ambiguous").inc()
        raise
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        metrics.WEBHOOK_REQUESTS.labels(channel, provider, "too_large").inc()
        raise
    return RawRequest(
        channel=channel,
        provider=provider,
        path=request.scope["path"],
        query_string=request.scope["query_string"].decode("latin-1"),
        # ASGI header names are already lower case; another repeated header keeps its last
        # value (none of those is read for authentication or routing).
        headers={
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in request.scope["headers"]
        },
        body=body,
        received_at=datetime.now(UTC),
        correlation_id=current_correlation_id(),
    )


def refuse(raw: RawRequest, reason: str) -> Unauthorized:
    """Count and log a request that failed authentication; the caller raises the result."""
    metrics.WEBHOOK_REQUESTS.labels(raw.channel, raw.provider, "unauthorized").inc()
    log.warning("webhook_unauthorized", channel=raw.channel, provider=raw.provider, reason=reason)
    return Unauthorized(reason)


async def ingest(ingestor: Ingestor, raw: RawRequest, parse: Parser) -> Ingested:
    """Run the pipeline for an authenticated request, counting and logging its outcome."""
    try:
        outcome = await ingestor.ingest(raw, parse)
    except Exception:
        metrics.WEBHOOK_REQUESTS.labels(raw.channel, raw.provider, "unavailable").inc()
        raise
    label = "dead_lettered" if outcome.dead_lettered else "accepted"
    metrics.WEBHOOK_REQUESTS.labels(raw.channel, raw.provider, label).inc()
    log.info(
        "webhook_ingested",
        channel=raw.channel,
        provider=raw.provider,
        events=outcome.events,
        dead_lettered=outcome.dead_lettered,
    )
    return outcome
