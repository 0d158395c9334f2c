"""Prometheus metrics of the consumer processes, served on ``CONSUMER_METRICS_PORT``.

Each consumer process serves its own; with ``PROMETHEUS_MULTIPROC_DIR`` set, the endpoint adds
up every process writing to that directory (one directory per process group).
"""

import os

import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

log = structlog.get_logger(__name__)

#: (v1.1) Records by worker group, topic and outcome: handled, dead_lettered, held (left for a
#: later poll after a transient failure).
RECORDS = Counter(
    "threadline_consumer_records",
    "Records by consumer group, topic and outcome (handled, dead_lettered, held).",
    ["group", "topic", "outcome"],
)
HANDLING = Histogram(
    "threadline_consumer_handling_seconds",
    "Time one poll of records took to handle, written and committed.",
    ["group", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LAG = Gauge(
    "threadline_consumer_lag",
    "Records on the partition not yet handled by the group (end offset minus committed).",
    ["group", "topic", "partition"],
    multiprocess_mode="livemax",
)
OLDEST_UNHANDLED = Gauge(
    "threadline_consumer_oldest_unhandled_age_seconds",
    "Age of the oldest record the group has read and not yet handled; 0 when caught up.",
    ["group", "topic"],
    multiprocess_mode="livemax",
)

#: (v1.1) Replies sent, by channel and outcome: sent, failed, unknown, rate_limited (a wait).
SENDS = Counter(
    "threadline_outbound_sends_total",
    "Reply send attempts by channel and outcome",
    ["channel", "outcome"],
)
SEND_LATENCY = Histogram(
    "threadline_outbound_send_latency_seconds",
    "Time the provider took to answer a send",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def serve(host: str, port: int) -> None:
    """Serve ``/metrics`` on ``host:port`` in a background thread (port 0: not at all)."""
    if port == 0:
        return
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        # The worker's job is the records; it runs on without its metrics, loudly.
        log.error("metrics_not_served", host=host, port=port, error=str(error))
        return
    log.info("metrics_served", host=host, port=port)
