"""Edits and revokes: the sender changed or unsent an earlier message.

Every edit is kept (``message_edits``), whether or not its message has arrived. A message's
current content is recomputed from the content it arrived with and all of its edits in the
order they were made, so edits apply idempotently and in any order with their message:
whichever of the two is handled second settles it.
"""

from collections.abc import Iterable

from contracts import Content, EditAction, MessageEditEvent
from domain.documents import (
    Changes,
    MessageDocument,
    MessageEditDocument,
    MessageVersionDocument,
    StoredJson,
)
from domain.previews import DELETED_PREVIEW, content_preview
from domain.store.database import Store
from domain.store.search import words
from domain.threads import refresh_summaries


class EditService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, events: list[MessageEditEvent]) -> None:
        """Keep every edit, then bring the messages they change up to date."""
        await self.store.edits.keep([edit_document(event) for event in events])
        targets: dict[tuple[str, str], set[str]] = {}
        for event in events:
            targets.setdefault((event.tenant_id, str(event.channel)), set()).add(
                event.target_provider_message_id
            )
        threads: set[str] = set()
        for (tenant_id, channel), ids in targets.items():
            threads |= await apply_edits(self.store, tenant_id, channel, sorted(ids))
        await refresh_summaries(self.store, threads)


async def apply_edits(
    store: Store, tenant_id: str, channel: str, provider_message_ids: Iterable[str]
) -> set[str]:
    """Bring the stored messages among ``provider_message_ids`` up to date with their kept
    edits; returns the threads whose summaries the caller must refresh."""
    edits = await store.edits.of_messages(tenant_id, channel, sorted(set(provider_message_ids)))
    by_target: dict[str, list[MessageEditDocument]] = {}
    for edit in edits:
        by_target.setdefault(edit["target_provider_message_id"], []).append(edit)
    if not by_target:
        return set()
    threads: set[str] = set()
    for message in await store.messages.by_provider_ids(tenant_id, channel, list(by_target)):
        kept = by_target[message["provider_message_id"]]
        if await store.messages.apply_edits(message["_id"], edited(message, kept), len(kept)):
            threads.add(message["thread_id"])
    return threads


def edited(message: MessageDocument, edits: list[MessageEditDocument]) -> Changes:
    """The message's fields once ``edits`` (oldest first) are applied to the content it
    arrived with; a revoke anywhere among them marks it deleted."""
    original: StoredJson = message.get("original_content") or message["content"]
    current = original
    versions: list[MessageVersionDocument] = []
    edited_at = None
    deleted = bool(message.get("deleted"))
    for edit in edits:
        if edit["action"] == EditAction.REVOKE or edit["content"] is None:
            deleted = True
            continue
        versions.append({"content": current, "replaced_at": edit["occurred_at"]})
        current = edit["content"]
        edited_at = edit["occurred_at"]
    content = Content.model_validate(current)
    return {
        "original_content": original,
        "content": current,
        "versions": versions,
        "edited_at": edited_at,
        "deleted": deleted,
        "preview": DELETED_PREVIEW if deleted else content_preview(content),
        # What was unsent is found by no search; an edit is found by its new words.
        "search_words": [] if deleted else words(content.text, content.subject),
    }


def edit_document(event: MessageEditEvent) -> MessageEditDocument:
    return {
        "_id": str(event.event_id),
        "tenant_id": event.tenant_id,
        "channel": str(event.channel),
        "target_provider_message_id": event.target_provider_message_id,
        "provider_message_id": event.provider_message_id,
        "action": str(event.action),
        "content": (
            event.content.model_dump(mode="json", exclude_none=True) if event.content else None
        ),
        "occurred_at": event.occurred_at,
    }
