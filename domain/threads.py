"""Thread rules: a thread's summary is always a recomputation from its stored messages."""

from collections.abc import Iterable
from datetime import UTC, datetime

from domain.documents import ThreadDocument
from domain.store.database import Store


async def refresh_summaries(store: Store, thread_ids: Iterable[str]) -> None:
    """Recompute the threads' summaries from their messages; a later recomputation wins."""
    threads = sorted(set(thread_ids))
    if not threads:
        return
    revisions = await store.threads.next_summary_revisions(threads)
    summaries = await store.messages.summaries({t: read for t, (_, read) in revisions.items()})
    await store.threads.set_summaries(
        [(thread, revision, summaries[thread]) for thread, (revision, _) in revisions.items()]
    )


async def mark_read(store: Store, tenant_id: str, thread: ThreadDocument) -> None:
    """Everything in ``thread`` up to now is read: its unread count becomes 0."""
    # A provider clock ahead of ours must not leave the newest message unread.
    now = datetime.now(UTC)
    at = max(now, thread.get("last_message_at") or now)
    await store.threads.mark_read(tenant_id, thread["_id"], at)
    await refresh_summaries(store, [thread["_id"]])
