"""What the Chats page reads: the thread list, newest activity first, paged without skips or
repeats, and a thread's messages, paged either way.

A thread moves to the top whenever a message arrives, so plain keyset paging would skip a
thread that moves up past the reader's position and repeat nothing useful. Each cursor
therefore carries the moment its first page was read (the snapshot), and every later page
orders threads by where they stood at that moment: threads unchanged since then are paged
from the index as they are; the few that changed are placed by their newest message stored
by the snapshot. A thread that first appeared after the snapshot belongs to a fresh first page
(which the live event stream announces).
"""

from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from domain.documents import MediaDocument, MessageDocument, Query, ThreadDocument
from domain.store.database import Store
from domain.work import effective_status
from ingest.api.cursors import Cursors
from ingest.api.schemas.threads import Message, MessagePage, Thread
from ingest.errors import BadRequest

log = structlog.get_logger(__name__)

#: Consumers and gateways stamp times with their own clocks: threads changed this close
#: before a snapshot are placed from their messages too, which is exact either way.
CLOCK_MARGIN = timedelta(seconds=2)

#: How many threads changed since a snapshot one page can place; beyond, paging degrades to
#: plain keyset order (logged), which can skip a thread that moved up.
CHANGED_LIMIT = 2000

Position = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class ThreadFilters:
    channel: str | None = None
    customer_id: str | None = None
    unread: bool | None = None
    #: (v1.1) Checked on what the index order gives: a snoozed thread past its time is open,
    #: which no stored field says, and any index of them would scan on some planners.
    status: str | None = None
    #: An agent id, or "none" for unassigned threads.
    assignee: str | None = None
    label: str | None = None
    #: (v1.1) ``q``: the E.164 number it spells when it is a phone, else its folded words
    #: (the longest through the index, every one checked on what it gives).
    words: tuple[str, ...] = ()
    phone: str | None = None

    def matches(self, thread: ThreadDocument, now: datetime) -> bool:
        if self.words and not set(self.words) <= set(thread.get("search_words") or ()):
            return False
        if self.status and effective_status(thread, now) != self.status:
            return False
        if self.assignee:
            wanted = None if self.assignee == "none" else self.assignee
            if thread.get("assignee") != wanted:
                return False
        return not self.label or self.label in (thread.get("labels") or [])

    @property
    def in_memory(self) -> bool:
        """Whether a condition is checked on what the index gives (a label is asked of the
        index unless ``q`` is)."""
        return bool(
            self.status or self.assignee or (self.label and self.words) or len(self.words) > 1
        )

    def query(self) -> Query:
        query: Query = {}
        if self.words:
            query["search_words"] = max(self.words, key=len)
        elif self.label:
            query["labels"] = self.label
        if self.channel:
            query["channel"] = self.channel
        if self.customer_id:
            query["customer_id"] = self.customer_id
        if self.unread is True:
            query["unread_count"] = {"$gt": 0}
        elif self.unread is False:
            query["unread_count"] = 0
        return query


async def list_threads(
    store: Store,
    tenant_id: str,
    filters: ThreadFilters,
    *,
    limit: int,
    cursor: str | None,
    cursors: Cursors,
) -> tuple[list[ThreadDocument], str | None]:
    """One page of threads and the cursor of the next page (None on the last page)."""
    query = filters.query()
    below: Position | None = None
    if cursor is None:
        snapshot = datetime.now(UTC)
    else:
        fields = cursors.decode(cursor, times=("snapshot", "at"), texts=("thread",))
        if datetime.now(UTC) - fields["snapshot"] > cursors.max_age:
            raise BadRequest(
                "the cursor has expired; read the first page again",
                details=[{"field": "cursor", "message": "expired"}],
            )
        snapshot, below = fields["snapshot"], (fields["at"], fields["thread"])
    if filters.phone:
        placed = await _by_phone(store, tenant_id, query, filters, snapshot, below, limit + 1)
    elif below is None:
        found = await _matching_page(
            store, tenant_id, query, filters, below=None, unchanged_since=None, limit=limit + 1
        )
        placed = [(_position(thread), thread) for thread in found]
    else:
        placed = await _page_as_of(store, tenant_id, query, filters, snapshot, below, limit + 1)
    page = placed[:limit]
    if len(placed) <= limit or not page:
        return [thread for _, thread in page], None
    (at, last), _ = page[-1]
    return [thread for _, thread in page], cursors.encode(
        {"snapshot": snapshot, "at": at, "thread": last}
    )


async def _matching_page(
    store: Store,
    tenant_id: str,
    query: Query,
    filters: ThreadFilters,
    *,
    below: Position | None,
    unchanged_since: datetime | None,
    limit: int,
) -> list[ThreadDocument]:
    """Up to ``limit`` threads in index order below ``below`` that also pass the filters no
    index holds, read on until there are enough."""
    if not filters.in_memory:
        return await store.threads.page(
            tenant_id, query, below=below, unchanged_since=unchanged_since, limit=limit
        )
    now = datetime.now(UTC)
    found: list[ThreadDocument] = []
    listing = store.threads.listing(tenant_id, query, below=below, unchanged_since=unchanged_since)
    async with aclosing(listing) as threads:
        async for thread in threads:
            if filters.matches(thread, now):
                found.append(thread)
                if len(found) >= limit:
                    break
    return found


async def _page_as_of(
    store: Store,
    tenant_id: str,
    query: Query,
    filters: ThreadFilters,
    snapshot: datetime,
    below: Position,
    limit: int,
) -> list[tuple[Position, ThreadDocument]]:
    settled = snapshot - CLOCK_MARGIN
    unchanged = await _matching_page(
        store, tenant_id, query, filters, below=below, unchanged_since=settled, limit=limit
    )
    placed = [(_position(thread), thread) for thread in unchanged]
    changed = await store.threads.changed_since(tenant_id, query, settled, CHANGED_LIMIT)
    if len(changed) == CHANGED_LIMIT:
        log.warning("thread_list_snapshot_overflow", tenant_id=tenant_id)
    now = datetime.now(UTC)
    for thread in changed:
        if not filters.matches(thread, now):
            continue
        at = await store.messages.last_message_at_as_of(thread["_id"], snapshot)
        if at is not None and (at, thread["_id"]) < below:
            placed.append(((at, thread["_id"]), thread))
    placed.sort(key=lambda item: item[0], reverse=True)
    return placed[:limit]


async def _by_phone(
    store: Store,
    tenant_id: str,
    query: Query,
    filters: ThreadFilters,
    snapshot: datetime,
    below: Position | None,
    limit: int,
) -> list[tuple[Position, ThreadDocument]]:
    """(v1.1) The threads of the phone ``q`` spells (one per channel at most), placed as
    ``_page_as_of`` places them; found by the participant-keys index and read by id."""
    assert filters.phone is not None
    found = await store.threads.ids_by_phone(tenant_id, filters.phone)
    settled = snapshot - CLOCK_MARGIN
    now = datetime.now(UTC)
    placed: list[tuple[Position, ThreadDocument]] = []
    for thread in await store.threads.listed_by_ids(tenant_id, sorted(found), query):
        if not filters.matches(thread, now):
            continue
        position = _position(thread)
        changed_at = thread.get("summary_at")
        if below is not None and changed_at is not None and changed_at > settled:
            at = await store.messages.last_message_at_as_of(thread["_id"], snapshot)
            if at is None:
                continue  # first listed after the snapshot
            position = (at, thread["_id"])
        if below is None or position < below:
            placed.append((position, thread))
    placed.sort(key=lambda item: item[0], reverse=True)
    return placed[:limit]


async def thread_views(
    store: Store, tenant_id: str, threads: list[ThreadDocument], *, human_agent: bool = False
) -> list[Thread]:
    """Threads as the API gives them, each with its customer's name (one lookup for all);
    ``human_agent``: the tenant's Messenger and Instagram reply window is 7 days."""
    linked = sorted({customer for t in threads if (customer := t["customer_id"])})
    names = await store.customers.names(tenant_id, linked)
    return [
        Thread.from_document(t, names.get(t["customer_id"] or ""), human_agent=human_agent)
        for t in threads
    ]


def _position(thread: ThreadDocument) -> Position:
    at = thread["last_message_at"]
    if at is None:
        raise RuntimeError(f"thread {thread['_id']} is listed but has no message")
    return at, thread["_id"]


async def message_page(
    store: Store,
    tenant_id: str,
    thread_id: str,
    before: str | None,
    after: str | None,
    limit: int,
) -> MessagePage:
    """The thread's messages oldest first, just before or after a message of the thread (or
    the newest), with the ids to continue from either way."""
    anchor_id = before or after
    anchor = None
    if anchor_id:
        message = await store.messages.get(tenant_id, anchor_id)
        if message is None or message["thread_id"] != thread_id:
            field = "before" if before else "after"
            raise BadRequest(
                "no such message in this thread",
                details=[{"field": field, "message": "must be a message id of the thread"}],
            )
        anchor = (message["occurred_at"], message["_id"])
    found = await store.messages.page(
        thread_id,
        before=anchor if before else None,
        after=anchor if after else None,
        limit=limit,
    )
    older = newer = None
    if found:
        first, last = found[0], found[-1]
        if await store.messages.exists_beyond(
            thread_id, (first["occurred_at"], first["_id"]), "$lt"
        ):
            older = first["_id"]
        if await store.messages.exists_beyond(thread_id, (last["occurred_at"], last["_id"]), "$gt"):
            newer = last["_id"]
    quoted = await quoted_messages(store, tenant_id, found)
    media = await media_of(store, found)
    items = [Message.from_document(m, quoted.get(_quotes(m) or ""), media) for m in found]
    return MessagePage(items=items, before=older, after=newer)


async def media_of(store: Store, messages: list[MessageDocument]) -> dict[str, MediaDocument]:
    """(v1.1) The file records of ``messages``' attachments: one query, none without any."""
    with_files = [m["_id"] for m in messages if m.get("content", {}).get("attachments")]
    return await store.media.of_messages(with_files) if with_files else {}


async def quoted_messages(
    store: Store, tenant_id: str, messages: list[MessageDocument]
) -> dict[str, MessageDocument]:
    """The stored messages that ``messages`` quote, by provider message id: one query per
    channel (a thread's messages share one)."""
    wanted: dict[str, set[str]] = {}
    for message in messages:
        if target := _quotes(message):
            wanted.setdefault(message["channel"], set()).add(target)
    found: dict[str, MessageDocument] = {}
    for channel, ids in wanted.items():
        for quoted in await store.messages.by_provider_ids(tenant_id, channel, sorted(ids)):
            found[quoted["provider_message_id"]] = quoted
    return found


def _quotes(message: MessageDocument) -> str | None:
    target = message["content"].get("reply_to_provider_message_id")
    return target if isinstance(target, str) else None
