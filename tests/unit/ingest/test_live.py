"""A live stream that falls behind is told to resync and ends, counted, instead of holding
events back; one that keeps up gets every event, heartbeats when quiet."""

from typing import Any, cast

from litestar.response.sse import ServerSentEventMessage

from domain.store.database import Store
from ingest import metrics
from ingest.api.live import RESYNC, LiveFeed, Subscription, tenant_events


def message(number: int) -> ServerSentEventMessage:
    return ServerSentEventMessage(event="message", data=f'{{"n":{number}}}', id=f"t{number}")


def feed() -> LiveFeed:
    """A feed whose shared change stream is never started (no store is needed)."""
    return LiveFeed(cast("Store", None), queue_size=2, streams_per_tenant=10)


async def drain(events: Any, limit: int = 10) -> list[ServerSentEventMessage]:
    received: list[ServerSentEventMessage] = []
    async for event in events:
        received.append(event)
        if len(received) >= limit:
            break
    return received


def dropped() -> float:
    value = metrics.LIVE_STREAMS_DROPPED._value.get()  # prometheus-client keeps it here
    return float(value)


async def test_a_full_queue_ends_the_stream_with_resync() -> None:
    """Three events for a queue of two: the stream sends ``resync`` and stops."""
    before = dropped()
    subscription = Subscription("acme", queue_size=2)
    for number in range(3):
        subscription.offer(message(number))
    received = await drain(tenant_events(feed(), subscription, None, cast("Store", None), 0.05))
    assert received[0].comment == "connected"
    assert received[-1] is RESYNC
    assert dropped() == before + 1


async def test_a_stream_that_keeps_up_gets_every_event_and_heartbeats() -> None:
    """A control: events within the queue's size all arrive, then heartbeats, no resync."""
    subscription = Subscription("acme", queue_size=2)
    subscription.offer(message(0))
    subscription.offer(message(1))
    received = await drain(
        tenant_events(feed(), subscription, None, cast("Store", None), 0.05), limit=4
    )
    assert [event.id for event in received[1:3]] == ["t0", "t1"]
    assert received[3].comment == "heartbeat"
    assert RESYNC not in received
