"""Prometheus metrics of the consumer processes."""

from prometheus_client import Counter, Histogram

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
