"""Working a conversation (v1.1): a thread's status, snooze, assignee and labels, and the
window in which the business may reply without a template."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.documents import Changes, MessageDocument, ThreadDocument
from domain.previews import PREVIEW_LENGTH
from domain.store.database import Store
from domain.threads import refresh_summaries

STATUSES = ("open", "pending", "resolved", "snoozed")
MAX_LABELS = 50

#: How long after the customer's last message a business may reply freely, per channel.
_WINDOWS = {
    "whatsapp": ("24h", timedelta(hours=24)),
    "messenger": ("24h", timedelta(hours=24)),
    "instagram": ("24h", timedelta(hours=24)),
}
_HUMAN_AGENT = ("human_agent_7d", timedelta(days=7))


class WorkRefused(ValueError):
    """A change of a thread's state that cannot be made; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ReplyWindow:
    open: bool
    closes_at: datetime | None
    rule: str


def reply_window(
    channel: str, last_inbound_at: datetime | None, *, human_agent: bool, now: datetime
) -> ReplyWindow:
    """Whether the business may still reply without a template: WhatsApp 24 hours after the
    customer's last message, Messenger and Instagram 24 hours (7 days with the tenant's
    ``human_agent``), SMS and email always."""
    window = _WINDOWS.get(channel)
    if window is None:
        return ReplyWindow(open=True, closes_at=None, rule="none")
    if human_agent and channel in ("messenger", "instagram"):
        window = _HUMAN_AGENT
    rule, length = window
    if last_inbound_at is None:
        return ReplyWindow(open=False, closes_at=None, rule=rule)
    closes_at = last_inbound_at + length
    return ReplyWindow(open=now < closes_at, closes_at=closes_at, rule=rule)


def effective_status(thread: ThreadDocument, now: datetime) -> str:
    """The thread's status as lists show it: a snoozed thread past its time is open."""
    status = thread.get("status") or "open"
    until = thread.get("snoozed_until")
    if status == "snoozed" and until is not None and _aware(until) <= now:
        return "open"
    return status


def work_changes(given: dict[str, object], now: datetime) -> Changes:
    """The ``$set`` a change of status, snooze, assignee or labels makes; WorkRefused when
    it cannot be made."""
    changes: Changes = {}
    status = given.get("status")
    until = given.get("snoozed_until")
    if "status" in given:
        if status not in STATUSES:
            raise WorkRefused("status", f"must be one of {', '.join(STATUSES)}")
        changes["status"] = status
        changes["status_at"] = now
        if status == "snoozed":
            if not isinstance(until, datetime):
                raise WorkRefused("snoozed_until", "is required to snooze a thread")
        elif until is not None:
            raise WorkRefused("snoozed_until", "is given only with status snoozed")
        changes["snoozed_until"] = until if status == "snoozed" else None
    elif until is not None:
        raise WorkRefused("snoozed_until", "is given only with status snoozed")
    if isinstance(until, datetime) and _aware(until) <= now:
        raise WorkRefused("snoozed_until", "must be in the future")
    if "assignee" in given:
        assignee = given["assignee"]
        if assignee is not None and not (isinstance(assignee, str) and assignee.strip()):
            raise WorkRefused("assignee", "must be an agent id or null")
        changes["assignee"] = assignee.strip() if isinstance(assignee, str) else None
    if "labels" in given:
        labels = given["labels"]
        if not isinstance(labels, list):
            raise WorkRefused("labels", "must be a list of labels")
        cleaned = list(dict.fromkeys(str(label).strip() for label in labels if str(label).strip()))
        if len(cleaned) > MAX_LABELS:
            raise WorkRefused("labels", f"at most {MAX_LABELS} labels")
        changes["labels"] = cleaned
    return changes


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def mark_unread(store: Store, tenant_id: str, thread: ThreadDocument) -> None:
    """The customer's last message counts as unread again (nothing, if they never wrote)."""
    last = thread.get("last_inbound_at")
    if last is None:
        return
    await store.threads.mark_unread(tenant_id, thread["_id"], last - timedelta(milliseconds=1))
    await refresh_summaries(store, [thread["_id"]])


async def add_note(
    store: Store, thread: ThreadDocument, text: str, author: str | None
) -> MessageDocument:
    """A note in the thread's timeline: staff's, never sent, neither unread nor last."""
    now = datetime.now(UTC)
    note_id = uuid.uuid4().hex
    note: MessageDocument = {
        "_id": note_id,
        "tenant_id": thread["tenant_id"],
        "thread_id": thread["_id"],
        "channel": thread["channel"],
        "provider": "threadline",
        "direction": "note",
        "provider_message_id": f"note:{note_id}",
        "occurred_at": now,
        "received_at": now,
        "stored_at": now,
        "participant": thread["participant"],
        "counterpart": "",
        "business": {"channel_account_id": thread.get("business_account") or ""},
        "content": {"type": "text", "text": text},
        "email": None,
        "references": [],
        "preview": " ".join(text.split())[:PREVIEW_LENGTH],
        "customer_id": None,
        "matched_by": None,
        "candidates": [],
        "status": None,
        "status_rank": 0,
        "deleted": False,
        "author": author,
    }
    await store.messages.insert_note(note)
    return note


@dataclass(frozen=True, slots=True)
class ThreadCounts:
    status: dict[str, int]
    unassigned: int
    assignee: int


async def thread_counts(
    store: Store, tenant_id: str, assignee: str | None, now: datetime
) -> ThreadCounts:
    """Threads per status, and the open ones unassigned and ``assignee``'s; a snoozed thread
    past its time counts as open. Index-served counts, plus the snoozed threads read."""
    by_status = {
        status: await store.threads.count_by_status(tenant_id, status) for status in STATUSES
    }
    by_status["open"] += await store.threads.count_by_status(tenant_id, None)
    snoozed = await store.threads.snoozed(tenant_id)
    expired = [t for t in snoozed if effective_status(t, now) == "open"]
    by_status["snoozed"] -= len(expired)
    by_status["open"] += len(expired)

    async def open_of(who: str | None) -> int:
        counted = await store.threads.count_assigned(tenant_id, "open", who)
        counted += await store.threads.count_assigned(tenant_id, None, who)
        return counted + sum(1 for t in expired if t.get("assignee") == who)

    return ThreadCounts(
        status=by_status,
        unassigned=await open_of(None),
        assignee=await open_of(assignee) if assignee else 0,
    )
