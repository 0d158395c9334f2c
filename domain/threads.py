"""Thread rules: a thread's summary is always a recomputation from its stored messages."""

from collections.abc import Iterable
from datetime import UTC, datetime

import structlog

from domain.documents import ThreadDocument
from domain.store.database import Store

log = structlog.get_logger(__name__)


async def refresh_summaries(store: Store, thread_ids: Iterable[str]) -> None:
    """Recompute the threads' summaries from their messages; a later recomputation wins."""
    threads = sorted(set(thread_ids))
    if not threads:
        return
    revisions = await store.threads.next_summary_revisions(threads)
    summaries = await store.messages.summaries(
        {t: (read, known) for t, (_, read, known) in revisions.items()}
    )
    await store.threads.set_summaries(
        [(thread, revision, summaries[thread]) for thread, (revision, _, _) in revisions.items()]
    )


async def mark_read(store: Store, tenant_id: str, thread: ThreadDocument) -> None:
    """Everything in ``thread`` up to now is read: its unread count becomes 0."""
    # A provider clock ahead of ours must not leave the newest message unread.
    now = datetime.now(UTC)
    at = max(now, thread.get("last_message_at") or now)
    await store.threads.mark_read(tenant_id, thread["_id"], at)
    await refresh_summaries(store, [thread["_id"]])


async def converge(store: Store, threads: list[ThreadDocument]) -> ThreadDocument:
    """Several threads of one channel turned out to be one participant's: the oldest lives on
    with every key and message of the others, which answer ``merged_into`` from then on.

    Safe to repeat and to interrupt: keys are added before messages move, messages move before
    the others are retired (a retry still finds them by their keys), and they move once more
    after, for any a concurrent writer put there meanwhile. No message is lost or doubled.
    """
    survivor, *others = sorted(threads, key=lambda t: (t["created_at"], t["_id"]))
    keys = sorted({key for thread in others for key in thread["participant_keys"]})
    await store.threads.add_keys(survivor["_id"], keys)
    survivor["participant_keys"] = sorted({*survivor["participant_keys"], *keys})
    linked = survivor.get("customer_id") or next(
        (t["customer_id"] for t in others if t.get("customer_id")), None
    )
    if linked and not survivor.get("customer_id"):
        rule = next(t["matched_by"] for t in others if t.get("customer_id") == linked)
        survivor["customer_id"] = await store.threads.link(survivor["_id"], linked, rule, [])
        survivor["matched_by"] = rule
    for other in others:
        await store.messages.move_thread(other["_id"], survivor["_id"])
        await store.threads.retire(other["_id"], survivor["_id"])
        await store.messages.move_thread(other["_id"], survivor["_id"])
    if customer_id := survivor.get("customer_id"):
        await store.messages.link_thread(
            survivor["_id"], customer_id, survivor.get("matched_by") or "thread"
        )
    await refresh_summaries(store, [survivor["_id"], *(t["_id"] for t in others)])
    log.info("threads_converged", survivor=survivor["_id"], retired=[t["_id"] for t in others])
    return survivor
