"""A live stream that falls behind is told to resync and ends, counted, instead of holding
events back; one that keeps up gets every event, heartbeats when quiet."""

from typing import Any, cast

from litestar.response.sse import ServerSentEventMessage

from domain.messages import message_document
from domain.store.database import Store
from ingest import metrics
from ingest.api.live import RESYNC, LiveFeed, Subscription, tenant_events
from matchers.identity import Resolution
from tests.factories import message_event


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


def message_change(token: str, **document: Any) -> dict[str, Any]:
    """A change-stream change of a stored message, as MongoDB reports it."""
    return {
        "_id": {"_data": token},
        "ns": {"coll": "messages"},
        "operationType": "insert",
        "fullDocument": {"tenant_id": "acme", **document},
    }


async def test_a_document_the_api_cannot_show_does_not_end_live_updates() -> None:
    """A stored message missing its fields is logged and skipped; the next one is sent."""
    live = feed()
    subscription = Subscription("acme", queue_size=5)
    live._subscribers["acme"] = {subscription}  # joined, without a shared stream to open
    await live._dispatch(message_change("t1"))  # no content, no direction: cannot be shown
    stored = message_document(
        message_event(provider_message_id="wamid.live"),
        {"_id": "thread-1"},  # type: ignore[typeddict-item]  # only the id is read
        Resolution(),
    )
    good = {key: value for key, value in stored.items() if key != "tenant_id"}
    await live._dispatch(message_change("t2", **good))
    assert subscription.queue.qsize() == 1
    assert (await subscription.queue.get()).id == "t2"
