"""Live updates for the Chats page: one change stream per gateway process, fanned out to every
open ``/v1/events`` stream of the tenant each change belongs to.

An event's id is MongoDB's resume token, which any process can resume from: a client that
reconnects with ``Last-Event-ID`` (to this replica or another) first reads what it missed
from a change stream of its own, then continues on the shared one; an event seen on both is
sent once.

Every stream has a bounded queue. A client that reads too slowly is not allowed to hold
events back for the others: when its queue is full it gets a ``resync`` event and its
stream ends (logged and counted), and the client reloads what it shows and reconnects
without ``Last-Event-ID``. A tenant may hold a bounded number of streams per process.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar.response.sse import ServerSentEventMessage
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.errors import OperationFailure, PyMongoError

from clients.backoff import Backoff
from contracts import Tenant
from domain.store.database import Store
from domain.store.messages import COLLECTION as MESSAGES
from ingest import metrics
from ingest.api.inbox import media_of, quoted_messages, thread_views
from ingest.api.schemas.threads import Message
from ingest.errors import ServiceUnavailable, TooManyRequests

log = structlog.get_logger(__name__)

#: How long one wait on a change stream lasts.
POLL_SECONDS = 1.0

#: How long a new stream waits for the shared change stream to open.
OPEN_SECONDS = 5.0

#: A reconnecting EventSource waits this long (ms) before trying again.
RETRY_MS = 2000

#: Thread updates that change nothing a reader sees.
_BOOKKEEPING = frozenset({"summary_revision"})

#: Sent to a stream that fell behind: reload, then reconnect without Last-Event-ID.
RESYNC = ServerSentEventMessage(event="resync", data="{}")


def resume_token(last_event_id: str | None) -> dict[str, Any] | None:
    """The change-stream token an event id stands for (None: start from now)."""
    value = (last_event_id or "").strip()
    return {"_data": value} if value else None


class Subscription:
    """One open stream's place in the feed."""

    def __init__(self, tenant_id: str, queue_size: int, *, human_agent: bool = False) -> None:
        self.tenant_id = tenant_id
        #: The tenant's Messenger and Instagram reply window is 7 days (threads' reply_window).
        self.human_agent = human_agent
        self.queue: asyncio.Queue[ServerSentEventMessage] = asyncio.Queue(queue_size)
        #: Set when the queue overflowed: the stream must resync.
        self.behind = asyncio.Event()

    def offer(self, event: ServerSentEventMessage) -> None:
        if self.behind.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.fall_behind()

    def fall_behind(self) -> None:
        """The stream has missed events: it ends with ``resync``."""
        if self.behind.is_set():
            return
        self.behind.set()
        metrics.LIVE_STREAMS_DROPPED.inc()
        log.warning("live_stream_behind", tenant_id=self.tenant_id, queued=self.queue.qsize())
        # Wake the stream if it is waiting for an event.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(RESYNC)


class LiveFeed:
    """The process's one change stream over threads and messages, and its subscribers."""

    def __init__(self, store: Store, *, queue_size: int, streams_per_tenant: int) -> None:
        self._store = store
        self._queue_size = queue_size
        self._streams_per_tenant = streams_per_tenant
        self._subscribers: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._token: dict[str, Any] | None = None
        #: Set while the shared change stream is open.
        self._open = asyncio.Event()

    async def subscribe(self, tenant: Tenant) -> Subscription:
        """A new stream of ``tenant``'s events from now on; 429 past the tenant's limit,
        503 when the shared change stream cannot be opened in time."""
        streams = self._subscribers.setdefault(tenant.id, set())
        if len(streams) >= self._streams_per_tenant:
            raise TooManyRequests(
                f"this tenant has {len(streams)} live streams open on this server already"
            )
        # Counted before waiting, so a stream leaving meanwhile does not close the feed.
        subscription = Subscription(tenant.id, self._queue_size, human_agent=tenant.human_agent)
        streams.add(subscription)
        metrics.LIVE_STREAMS.inc()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="live-feed")
        try:
            await asyncio.wait_for(self._open.wait(), OPEN_SECONDS)
        except TimeoutError:
            self.unsubscribe(subscription)
            raise ServiceUnavailable("the message store is unreachable") from None
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        streams = self._subscribers.get(subscription.tenant_id, set())
        if subscription in streams:
            streams.discard(subscription)
            metrics.LIVE_STREAMS.dec()
        if not any(self._subscribers.values()) and self._task is not None:
            # Nobody listens: the shared change stream closes until someone does, and then
            # starts from that moment.
            self._task.cancel()
            self._task = None
            self._token = None
            self._open.clear()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                stream = await self._store.changes(None, self._token, POLL_SECONDS)
                self._open.set()
                try:
                    backoff.reset()
                    while True:
                        change = await stream.try_next()
                        if change is not None:
                            await self._dispatch(change)
                            self._token = change["_id"]
                finally:
                    await stream.close()
            except OperationFailure as error:
                # The shared stream cannot resume (the oplog moved on): start from now, and
                # every open stream, which may have missed events, resyncs.
                self._open.clear()
                self._token = None
                log.warning("live_feed_restarted", error=str(error))
                for streams in self._subscribers.values():
                    for subscription in streams:
                        subscription.fall_behind()
                await backoff.wait()
            except PyMongoError as error:
                self._open.clear()
                log.warning("live_feed_interrupted", error=str(error), retry_in=backoff.delay)
                await backoff.wait()

    async def _dispatch(self, change: dict[str, Any]) -> None:
        document = change.get("fullDocument") or {}
        listening = self._subscribers.get(document.get("tenant_id", ""))
        if not listening:
            return
        # Every stream of a tenant shares its settings.
        human_agent = next(iter(listening)).human_agent
        try:
            event = await render(change, self._store, document["tenant_id"], human_agent)
        except PyMongoError:
            raise  # the feed reopens from this change
        except Exception:
            # One document the API cannot show must not end live updates for everyone.
            log.exception("live_event_not_rendered", collection=change.get("ns", {}).get("coll"))
            return
        if event is not None:
            for subscription in list(listening):
                subscription.offer(event)


async def tenant_events(
    feed: LiveFeed,
    subscription: Subscription,
    missed: AsyncChangeStream[dict[str, Any]] | None,
    store: Store,
    heartbeat: float,
) -> AsyncIterator[ServerSentEventMessage]:
    """``message`` and ``thread`` events as they happen (after those ``missed`` since the
    client's last event), a comment line when quiet, ``resync`` when the client fell behind."""
    tenant_id = subscription.tenant_id
    sent: set[str] = set()
    try:
        yield ServerSentEventMessage(comment="connected", retry=RETRY_MS)
        if missed is not None:
            async for event in _catch_up(missed, store, subscription):
                sent.add(str(event.id))
                yield event
        while not subscription.behind.is_set():
            try:
                event = await asyncio.wait_for(subscription.queue.get(), heartbeat)
            except TimeoutError:
                yield ServerSentEventMessage(comment="heartbeat")
                continue
            if event is RESYNC:
                break
            if sent and str(event.id) in sent:
                continue  # already sent while catching up
            sent.clear()
            yield event
        yield RESYNC
    finally:
        feed.unsubscribe(subscription)
        if missed is not None:
            await missed.close()
        log.debug("event_stream_closed", tenant_id=tenant_id)


async def _catch_up(
    missed: AsyncChangeStream[dict[str, Any]], store: Store, subscription: Subscription
) -> AsyncIterator[ServerSentEventMessage]:
    """What the tenant's own change stream holds since the client's last event, until it
    has nothing more right now."""
    try:
        while (change := await missed.try_next()) is not None:
            event = await render(change, store, subscription.tenant_id, subscription.human_agent)
            if event is not None:
                yield event
    finally:
        await missed.close()


async def render(
    change: dict[str, Any], store: Store, tenant_id: str, human_agent: bool
) -> ServerSentEventMessage | None:
    """The event a change is for the tenant's readers, or None when it shows nothing new;
    ``human_agent``: the tenant's Messenger and Instagram reply window is 7 days."""
    document = change.get("fullDocument")
    if not document or document.get("tenant_id") != tenant_id:
        return None  # deleted since, or not the tenant's
    token: str = change["_id"]["_data"]
    if change["ns"]["coll"] == MESSAGES:
        quoted = await quoted_messages(store, tenant_id, [document])
        target = document["content"].get("reply_to_provider_message_id")
        media = await media_of(store, [document])
        data = Message.from_document(document, quoted.get(target or ""), media).model_dump_json()
        return ServerSentEventMessage(data=data, event="message", id=token)
    updated = set((change.get("updateDescription") or {}).get("updatedFields") or {})
    if change["operationType"] == "update" and updated <= _BOOKKEEPING:
        return None
    if document.get("last_message_at") is None:
        return None  # a thread is announced once its first message is in it
    (thread,) = await thread_views(store, tenant_id, [document], human_agent=human_agent)
    return ServerSentEventMessage(data=thread.model_dump_json(), event="thread", id=token)
