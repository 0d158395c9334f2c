"""Recording messages: every message into exactly one thread and one customer's log.

A batch of events is recorded together: threads are found once per participant, messages are
inserted in one bulk write, and each touched thread's summary is recomputed once.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast

import structlog

from contracts import Direction, MessageEvent, Participant, Tenant
from domain.documents import MessageDocument, ParticipantDocument, ThreadDocument
from domain.matching import MessageMatcher
from domain.statuses import apply_pending
from domain.store.database import Store
from domain.threads import refresh_summaries
from matchers.identity import Resolution
from matchers.participants import participant_keys

log = structlog.get_logger(__name__)

PREVIEW_LENGTH = 140


class MessageService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.matcher = MessageMatcher(store)

    async def record(self, events: list[MessageEvent], tenants: Mapping[str, Tenant]) -> None:
        """Store every event, each of the tenant ``tenants`` holds for its ``tenant_id``."""
        # A redelivered event may come twice in one poll; it is one message.
        events = list({event.event_id: event for event in events}.values())
        now = datetime.now(UTC)
        threads: dict[tuple[str, str, tuple[str, ...]], ThreadDocument] = {}
        # Within a poll, a thread's unlinked messages without references match alike.
        unmatched: dict[str, Resolution] = {}
        documents: list[MessageDocument] = []
        existing = await self._existing_threads(events)
        # Applied after the poll's insert: the message unsent may be in this poll too.
        unsent: list[MessageEvent] = []
        for event in events:
            tenant = tenants[event.tenant_id]
            if event.content.deleted:
                unsent.append(event)
                continue
            keys = participant_keys(event.channel, event.participant)
            cache_key = (tenant.id, str(event.channel), tuple(keys))
            thread = threads.get(cache_key)
            if thread is None:
                channel = str(event.channel)
                thread = _oldest(existing.get((tenant.id, channel, key)) for key in keys)
                if thread is None or not set(keys) <= set(thread["participant_keys"]):
                    thread = await self.store.threads.find_or_create(
                        tenant.id,
                        event.channel,
                        keys,
                        participant_document(event.participant),
                        event.business.channel_account_id,
                        now,
                    )
                fresh = participant_document(event.participant)
                known: Mapping[str, object] = thread["participant"]
                if event.direction is Direction.INBOUND and any(
                    known.get(name) != value for name, value in fresh.items()
                ):
                    await self.store.threads.update_participant(thread["_id"], fresh)
                threads[cache_key] = thread
            documents.append(await self._document(tenant, event, thread, unmatched))
        stored_at = datetime.now(UTC)
        for document in documents:
            document["stored_at"] = stored_at
        inserted = await self.store.messages.insert_new(documents)
        for document in documents:
            if document["_id"] in inserted and document["direction"] == "outbound":
                await apply_pending(self.store, document)
        for event in unsent:
            await self.store.messages.mark_deleted(
                event.tenant_id, event.channel, event.provider_message_id
            )
        await refresh_summaries(self.store, {t["_id"] for t in threads.values()})
        for document in documents:
            if customer_id := document["customer_id"]:
                await self.store.customers.touch_contact(customer_id, document["occurred_at"])
        log.info("messages_handled", events=len(events), inserted=len(inserted))

    async def _existing_threads(
        self, events: list[MessageEvent]
    ) -> dict[tuple[str, str, str], ThreadDocument]:
        """The existing threads of a poll's participants, by (tenant, channel, key)."""
        keys: dict[tuple[str, str], set[str]] = {}
        for event in events:
            keys.setdefault((event.tenant_id, str(event.channel)), set()).update(
                participant_keys(event.channel, event.participant)
            )
        known: dict[tuple[str, str, str], ThreadDocument] = {}
        for (tenant_id, channel), wanted in keys.items():
            found = await self.store.threads.by_keys(tenant_id, channel, sorted(wanted))
            known.update({(tenant_id, channel, key): t for key, t in found.items()})
        return known

    async def _document(
        self,
        tenant: Tenant,
        event: MessageEvent,
        thread: ThreadDocument,
        unmatched: dict[str, Resolution],
    ) -> MessageDocument:
        known = unmatched.get(thread["_id"])
        if known is not None and not event.references and not thread.get("customer_id"):
            resolution = known
        else:
            resolution = await self.matcher.match(tenant, event, thread)
            if not resolution.customer_id and not event.references:
                unmatched[thread["_id"]] = resolution
        if resolution.customer_id and not thread.get("customer_id"):
            await self.store.threads.link(
                thread["_id"], resolution.customer_id, str(resolution.rule), []
            )
            await self.store.messages.link_thread(
                thread["_id"], resolution.customer_id, str(resolution.rule)
            )
            thread["customer_id"] = resolution.customer_id
            thread["matched_by"] = str(resolution.rule)
        elif resolution.ambiguous and not thread.get("customer_id"):
            await self.store.threads.link(
                thread["_id"], None, f"{resolution.rule}:ambiguous", list(resolution.candidates)
            )
        outbound = event.direction is Direction.OUTBOUND
        return {
            "_id": str(event.event_id),
            "tenant_id": event.tenant_id,
            "thread_id": thread["_id"],
            "channel": str(event.channel),
            "provider": event.provider,
            "direction": str(event.direction),
            "provider_message_id": event.provider_message_id,
            "occurred_at": event.occurred_at,
            "received_at": event.received_at,
            "participant": participant_document(event.participant),
            "counterpart": _counterpart(event),
            "business": event.business.model_dump(),
            "content": event.content.model_dump(mode="json", exclude_none=True),
            "email": event.email.model_dump(exclude_none=True) if event.email else None,
            "references": list(event.references),
            "preview": preview(event),
            "customer_id": resolution.customer_id,
            "matched_by": str(resolution.rule)
            if resolution.customer_id
            else (f"{resolution.rule}:ambiguous" if resolution.ambiguous else None),
            "candidates": list(resolution.candidates),
            "status": "sent" if outbound else None,
            "status_rank": 1 if outbound else 0,
            "deleted": False,
        }


def participant_document(participant: Participant) -> ParticipantDocument:
    """The participant as stored: its fields without the empty ones."""
    return cast("ParticipantDocument", participant.model_dump(exclude_none=True))


def _oldest(threads: Iterable[ThreadDocument | None]) -> ThreadDocument | None:
    """The thread created first, as ``find_or_create`` would pick it."""
    found = [thread for thread in threads if thread is not None]
    return min(found, key=lambda thread: thread["created_at"]) if found else None


def preview(event: MessageEvent) -> str:
    """At most 140 characters a chat list can show for any message."""
    content = event.content
    if content.reaction is not None:
        text = (
            f"Reacted {content.reaction.emoji}" if content.reaction.emoji else "Removed a reaction"
        )
    else:
        text = content.text or content.subject or ""
        if not text and content.attachments:
            text = f"[{content.attachments[0].kind}]"
        if not text:
            text = f"[{content.type}]"
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"


def _counterpart(event: MessageEvent) -> str:
    participant = event.participant
    return participant.email or participant.phone or participant.channel_user_id
