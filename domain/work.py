"""Working a conversation (v1.1): a thread's status, snooze, assignee and labels, and the
window in which the business may reply without a template."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.documents import Changes, ThreadDocument

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
