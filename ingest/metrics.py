"""Prometheus metrics of the gateway.

With several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (``python -m ingest`` does it
for you) so ``/metrics`` adds up every worker.
"""

import os

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

WEBHOOK_REQUESTS = Counter(
    "threadline_webhook_requests",
    "Webhook requests by channel, provider and outcome.",
    ["channel", "provider", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "threadline_events_published",
    "Records acknowledged by Kafka, by channel and kind (message, status, booking, deadletter).",
    ["channel", "kind"],
)
PUBLISH_FAILURES = Counter(
    "threadline_publish_failures",
    "Requests answered 503 because Kafka did not acknowledge their records.",
    ["channel"],
)
PUBLISH_LATENCY = Histogram(
    "threadline_publish_latency_seconds",
    "Time from handing a request's records to the producer until Kafka acknowledged all.",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SPOOLED_RECORDS = Counter(
    "threadline_spooled_records",
    "Records written to the local spool because Kafka did not take them in time.",
    ["channel"],
)
SPOOL_DEPTH = Gauge(
    "threadline_spool_depth",
    "Records waiting in the local spool for Kafka.",
    multiprocess_mode="livesum",
)
SPOOL_BYTES = Gauge(
    "threadline_spool_bytes",
    "Bytes of record keys and values waiting in the local spool.",
    multiprocess_mode="livesum",
)
SPOOL_OLDEST_AGE = Gauge(
    "threadline_spool_oldest_age_seconds",
    "Age of the oldest record waiting in the local spool; 0 when it is empty.",
    multiprocess_mode="livemax",
)

LIVE_STREAMS = Gauge(
    "threadline_live_streams",
    "Open /v1/events streams.",
    multiprocess_mode="livesum",
)
LIVE_STREAMS_DROPPED = Counter(
    "threadline_live_streams_dropped",
    "Live streams ended with a resync event because their client read too slowly.",
)

#: (v1.1) Every answer, by the part of the gateway (webhooks, api, app, other) and status class.
HTTP_RESPONSES = Counter(
    "threadline_http_responses",
    "HTTP answers by part of the gateway (webhooks, api, app, other) and status class (2xx...).",
    ["part", "status"],
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

_PARTS = (("/webhooks/", "webhooks"), ("/v1/", "api"), ("/app/", "app"))


class ResponseCounter:
    """Counts each answer of a route in ``threadline_http_responses`` (a 5xx alert reads it);
    a path no route serves is answered (404) before middleware runs, and is not counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        part = next((name for prefix, name in _PARTS if path.startswith(prefix)), "other")

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                HTTP_RESPONSES.labels(part, f"{int(message['status']) // 100}xx").inc()
            await send(message)

        await self.app(scope, receive, counted)


def render() -> bytes:
    """The exposition text for every metric of this process, or of all workers."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
