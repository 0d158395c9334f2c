"""Live updates for the Chats page: the tenant's change stream as Server-Sent Events.

Every gateway process opens its own change stream, and an event's id is MongoDB's resume
token, which any process can resume from: a client reconnecting with ``Last-Event-ID`` to a
different replica gets exactly what it missed (for as long as the oplog still holds it).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar.response.sse import ServerSentEventMessage
from pymongo.asynchronous.change_stream import AsyncChangeStream

from domain.store.database import Store
from domain.store.messages import COLLECTION as MESSAGES
from ingest.api.inbox import thread_views
from ingest.api.schemas.threads import Message

log = structlog.get_logger(__name__)

#: How long one wait on the change stream lasts; heartbeats are checked in between.
POLL_SECONDS = 1.0

#: A reconnecting EventSource waits this long (ms) before trying again.
RETRY_MS = 2000

#: Thread updates that change nothing a reader sees.
_BOOKKEEPING = frozenset({"summary_revision"})


def resume_token(last_event_id: str | None) -> dict[str, Any] | None:
    """The change-stream token an event id stands for (None: start from now)."""
    value = (last_event_id or "").strip()
    return {"_data": value} if value else None


async def tenant_events(
    stream: AsyncChangeStream[dict[str, Any]],
    store: Store,
    tenant_id: str,
    heartbeat: float,
) -> AsyncIterator[ServerSentEventMessage]:
    """``message`` and ``thread`` events as they happen; a comment line when quiet."""
    loop = asyncio.get_running_loop()
    try:
        yield ServerSentEventMessage(comment="connected", retry=RETRY_MS)
        quiet_since = loop.time()
        while True:
            change = await stream.try_next()
            if change is None:
                if loop.time() - quiet_since >= heartbeat:
                    yield ServerSentEventMessage(comment="heartbeat")
                    quiet_since = loop.time()
                continue
            event = await _event(change, store, tenant_id)
            if event is not None:
                yield event
                quiet_since = loop.time()
    finally:
        await stream.close()
        log.debug("event_stream_closed", tenant_id=tenant_id)


async def _event(
    change: dict[str, Any], store: Store, tenant_id: str
) -> ServerSentEventMessage | None:
    document = change.get("fullDocument")
    if not document or document.get("tenant_id") != tenant_id:
        return None  # deleted since, or not ours (the pipeline already filters)
    token: str = change["_id"]["_data"]
    if change["ns"]["coll"] == MESSAGES:
        data = Message.from_document(document).model_dump_json()
        return ServerSentEventMessage(data=data, event="message", id=token)
    updated = set((change.get("updateDescription") or {}).get("updatedFields") or {})
    if change["operationType"] == "update" and updated <= _BOOKKEEPING:
        return None
    if document.get("last_message_at") is None:
        return None  # a thread is announced once its first message is in it
    (thread,) = await thread_views(store, tenant_id, [document])
    return ServerSentEventMessage(data=thread.model_dump_json(), event="thread", id=token)
