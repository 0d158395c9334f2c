"""Recording messages: every message into exactly one thread and one customer's log.

A batch of events is recorded together: threads are found once per participant, messages are
inserted in one bulk write, and each touched thread's summary is recomputed once.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import structlog

from contracts import ContentType, Direction, MessageEvent, Participant, Tenant
from domain.documents import MessageDocument, ParticipantDocument, ThreadDocument
from domain.edits import apply_edits
from domain.matching import MessageMatcher
from domain.previews import DELETED_PREVIEW, content_preview
from domain.statuses import apply_pending
from domain.store.customers import CandidatePool
from domain.store.database import Store
from domain.store.search import words
from domain.store.threads import new_thread
from domain.threads import converge, refresh_summaries
from matchers.identity import Resolution, Rule
from matchers.participants import conversation_keys

log = structlog.get_logger(__name__)


@dataclass
class _Poll:
    """What recording one batch of events learns as it goes."""

    #: The threads that existed before the batch, by (tenant, channel, participant key).
    existing: dict[tuple[str, str, str], ThreadDocument]
    now: datetime
    #: The threads the batch touched, by (tenant, channel, participant keys).
    threads: dict[tuple[str, str, tuple[str, ...]], ThreadDocument] = field(default_factory=dict)
    #: Within a batch, a thread's unlinked messages without references match alike.
    unmatched: dict[str, Resolution] = field(default_factory=dict)
    #: Threads retired in this poll (one participant's threads made one), and their survivor.
    retired: dict[str, ThreadDocument] = field(default_factory=dict)
    #: Unlinked threads this poll links (customer, rule) or marks ambiguous (None, rule,
    #: candidates), written together once every event is resolved.
    links: dict[str, tuple[str | None, str, list[str]]] = field(default_factory=dict)


class MessageService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.matcher = MessageMatcher(store)

    async def record(self, events: list[MessageEvent], tenants: Mapping[str, Tenant]) -> None:
        """Store every event, each of the tenant ``tenants`` holds for its ``tenant_id``."""
        # A redelivered event may come twice in one poll; it is one message.
        events = list({event.event_id: event for event in events}.values())
        poll = _Poll(existing=await self._existing_threads(events), now=datetime.now(UTC))
        said = [event for event in events if not event.content.deleted]
        threads = await self._threads(poll, said)
        pools = await self._candidates(said, threads)
        resolutions = [
            await self._resolve(
                poll, tenants[event.tenant_id], event, thread, pools[event.tenant_id]
            )
            for event, thread in zip(said, threads, strict=True)
        ]
        taken = await self._link(poll)
        documents: list[MessageDocument] = []
        for event, thread, resolution in zip(said, threads, resolutions, strict=True):
            if thread["_id"] in taken:
                # Linked to another customer meanwhile: the thread's customer has it.
                owner = taken[thread["_id"]]
                resolution = Resolution(customer_id=owner, rule=Rule.CHANNEL_IDENTITY)
                thread["customer_id"] = owner
                thread["matched_by"] = str(resolution.rule)
            documents.append(message_document(event, thread, resolution))
        documents = await self._without_echoes(documents)
        inserted = await self._insert(documents)
        # Applied after the insert: the message unsent may be in this batch too.
        for event in events:
            if event.content.deleted:
                await self.store.messages.mark_deleted(
                    event.tenant_id, event.channel, event.provider_message_id, DELETED_PREVIEW
                )
        # Edits that arrived before their message.
        arrived: dict[tuple[str, str], list[str]] = {}
        for document in documents:
            if document["_id"] in inserted:
                key = (document["tenant_id"], document["channel"])
                arrived.setdefault(key, []).append(document["provider_message_id"])
        for (tenant_id, channel), ids in arrived.items():
            await self._supersede_placeholders(tenant_id, channel, ids)
            await apply_edits(self.store, tenant_id, channel, ids)
        await refresh_summaries(self.store, {t["_id"] for t in poll.threads.values()})
        await self.store.threads.reopen(_written_to(documents, inserted))
        # Each linked customer's last contact, in one write for the poll.
        latest: dict[str, datetime] = {}
        for document in documents:
            if customer_id := document["customer_id"]:
                at = document["occurred_at"]
                latest[customer_id] = max(latest.get(customer_id, at), at)
        await self.store.customers.touch_contacts(latest)
        log.info("messages_handled", events=len(events), inserted=len(inserted))

    async def _without_echoes(self, documents: list[MessageDocument]) -> list[MessageDocument]:
        """(v1.1) The provider's echo of a reply sent from Threadline is that reply, not a
        second message: it is not stored (the reply has its provider id once it was sent; an
        echo that comes first is removed when the id is written, ``domain.outbound``)."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for document in documents:
            if document["direction"] == "outbound":
                key = (document["tenant_id"], document["channel"])
                wanted.setdefault(key, []).append(document["provider_message_id"])
        ours: set[tuple[str, str, str]] = set()
        for (tenant_id, channel), ids in wanted.items():
            for found in await self.store.messages.by_provider_ids(tenant_id, channel, ids):
                if "outbound" in found:
                    ours.add((tenant_id, channel, found["provider_message_id"]))
        if not ours:
            return documents
        log.info("reply_echoes_skipped", echoes=len(ours))
        return [
            document
            for document in documents
            if document["direction"] != "outbound"
            or (document["tenant_id"], document["channel"], document["provider_message_id"])
            not in ours
        ]

    async def _supersede_placeholders(
        self, tenant_id: str, channel: str, provider_message_ids: list[str]
    ) -> None:
        """A message the provider could not show (``unsupported``) is a placeholder: when the
        provider later delivers the message itself under the same id, it replaces it."""
        found = await self.store.messages.by_provider_ids(tenant_id, channel, provider_message_ids)
        by_id: dict[str, list[MessageDocument]] = {}
        for message in found:
            by_id.setdefault(message["provider_message_id"], []).append(message)
        superseded = [
            message["_id"]
            for messages in by_id.values()
            if any(m["content"].get("type") != ContentType.UNSUPPORTED for m in messages)
            for message in messages
            if message["content"].get("type") == ContentType.UNSUPPORTED
        ]
        if superseded:
            await self.store.messages.remove(superseded)
            log.info("placeholders_superseded", messages=len(superseded))

    async def _existing_threads(
        self, events: list[MessageEvent]
    ) -> dict[tuple[str, str, str], ThreadDocument]:
        """The existing threads of a poll's participants, by (tenant, channel, key)."""
        keys: dict[tuple[str, str], set[str]] = {}
        for event in events:
            keys.setdefault((event.tenant_id, str(event.channel)), set()).update(
                conversation_keys(event)
            )
        known: dict[tuple[str, str, str], ThreadDocument] = {}
        for (tenant_id, channel), wanted in keys.items():
            found = await self.store.threads.by_keys(tenant_id, channel, sorted(wanted))
            known.update({(tenant_id, channel, key): t for key, t in found.items()})
        return known

    async def _threads(self, poll: _Poll, events: list[MessageEvent]) -> list[ThreadDocument]:
        """Each event's thread: known from this poll, found, or created.

        The threads of participants new to the poll are created in one write. A participant
        sharing a key with another one new to this poll is settled after that write, one at a
        time, so the two end in one thread.
        """
        planned: dict[tuple[str, str, tuple[str, ...]], ThreadDocument] = {}
        claimed: set[tuple[str, str, str]] = set()
        for event in events:
            keys = conversation_keys(event)
            tenant_id, channel = event.tenant_id, str(event.channel)
            cache_key = (tenant_id, channel, tuple(keys))
            if cache_key in planned or cache_key in poll.threads:
                continue
            scoped = {(tenant_id, channel, key) for key in keys}
            if not any(key in poll.existing for key in scoped) and not scoped & claimed:
                planned[cache_key] = new_thread(
                    tenant_id,
                    channel,
                    keys,
                    thread_participant(event),
                    event.business.channel_account_id,
                    poll.now,
                )
                claimed |= scoped
        created = await self.store.threads.create_many(list(planned.values()))
        for cache_key, document in planned.items():
            poll.threads[cache_key] = created[document["_id"]]
        threads = [await self._thread(poll, event) for event in events]
        # A thread retired by a later event of this poll lives on as its survivor.
        return [poll.retired.get(thread["_id"], thread) for thread in threads]

    async def _thread(self, poll: _Poll, event: MessageEvent) -> ThreadDocument:
        """The event's thread: known from this poll, found, or created; an inbound message
        brings the participant's details up to date."""
        keys = conversation_keys(event)
        tenant_id, channel = event.tenant_id, str(event.channel)
        cache_key = (tenant_id, channel, tuple(keys))
        thread = poll.threads.get(cache_key)
        if thread is None:
            found = {
                t["_id"]: t
                for key in keys
                if (t := poll.existing.get((tenant_id, channel, key))) is not None
                and t["_id"] not in poll.retired
            }
            if len(found) > 1:
                # (v1.1) One participant, one thread: this event shows two are the same person.
                thread = await converge(self.store, list(found.values()))
                for retired in found:
                    if retired != thread["_id"]:
                        poll.retired[retired] = thread
            else:
                thread = _oldest(found.values())
            if thread is None or not set(keys) <= set(thread["participant_keys"]):
                thread = await self.store.threads.find_or_create(
                    tenant_id,
                    event.channel,
                    keys,
                    thread_participant(event),
                    event.business.channel_account_id,
                    poll.now,
                )
            poll.threads[cache_key] = thread
        fresh = thread_participant(event)
        known: Mapping[str, object] = thread["participant"]
        if event.direction is Direction.INBOUND and any(
            known.get(name) != value for name, value in fresh.items()
        ):
            await self.store.threads.update_participant(thread["_id"], fresh)
            thread["participant"] = {**thread["participant"], **fresh}
        return thread

    async def _candidates(
        self, events: list[MessageEvent], threads: list[ThreadDocument]
    ) -> dict[str, CandidatePool]:
        """The customers the poll's unlinked participants may be, fetched together, by tenant."""
        unlinked: dict[str, list[MessageEvent]] = {event.tenant_id: [] for event in events}
        for event, thread in zip(events, threads, strict=True):
            if not thread.get("customer_id") and event.group is None:
                unlinked[event.tenant_id].append(event)
        return {
            tenant_id: await self.matcher.candidates(tenant_id, asking)
            for tenant_id, asking in unlinked.items()
        }

    async def _resolve(
        self,
        poll: _Poll,
        tenant: Tenant,
        event: MessageEvent,
        thread: ThreadDocument,
        pool: CandidatePool,
    ) -> Resolution:
        """The event's customer; an unlinked thread is linked to it (or marked ambiguous).

        A group's thread is nobody's: its messages are not matched to a customer.
        """
        if event.group is not None:
            return Resolution()
        known = poll.unmatched.get(thread["_id"])
        if known is not None and not event.references and not thread.get("customer_id"):
            resolution = known
        else:
            resolution = await self.matcher.match(tenant, event, thread, pool)
            if not resolution.customer_id and not event.references:
                poll.unmatched[thread["_id"]] = resolution
        if resolution.customer_id and not thread.get("customer_id"):
            poll.links[thread["_id"]] = (resolution.customer_id, str(resolution.rule), [])
            thread["customer_id"] = resolution.customer_id
            thread["matched_by"] = str(resolution.rule)
        elif resolution.ambiguous and not thread.get("customer_id"):
            rule = f"{resolution.rule}:ambiguous"
            poll.links.setdefault(thread["_id"], (None, rule, list(resolution.candidates)))
        return resolution

    async def _link(self, poll: _Poll) -> dict[str, str | None]:
        """Write the poll's links in one go; the threads someone else linked first, with
        the customer they have (their messages are that customer's)."""
        if not poll.links:
            return {}
        owners = await self.store.threads.link_many(poll.links)
        linked = {
            thread: (customer, rule)
            for thread, (customer, rule, _) in poll.links.items()
            if customer is not None and owners.get(thread) == customer
        }
        # Messages stored before the thread had a customer become the customer's.
        await self.store.messages.link_threads(linked)
        return {
            thread: owners.get(thread)
            for thread, (customer, _, _) in poll.links.items()
            if customer is not None and owners.get(thread) != customer
        }

    async def _insert(self, documents: list[MessageDocument]) -> set[str]:
        """Insert the messages not stored yet; receipts that came first are applied to them."""
        stored_at = datetime.now(UTC)
        for document in documents:
            document["stored_at"] = stored_at
        inserted = await self.store.messages.insert_new(documents)
        for document in documents:
            if document["_id"] in inserted and document["direction"] == "outbound":
                await apply_pending(self.store, document)
        return inserted


def message_document(
    event: MessageEvent, thread: ThreadDocument, resolution: Resolution
) -> MessageDocument:
    """The message as stored in ``thread``, linked as ``resolution`` says."""
    outbound = event.direction is Direction.OUTBOUND
    matched_by = (
        str(resolution.rule)
        if resolution.customer_id
        else (f"{resolution.rule}:ambiguous" if resolution.ambiguous else None)
    )
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
        "group": event.group.model_dump(exclude_none=True) if event.group else None,
        "preview": preview(event),
        "search_words": words(event.content.text, event.content.subject),
        "customer_id": resolution.customer_id,
        "matched_by": matched_by,
        "candidates": list(resolution.candidates),
        "status": "sent" if outbound else None,
        "status_rank": 1 if outbound else 0,
        "deleted": False,
    }


def participant_document(participant: Participant) -> ParticipantDocument:
    """The participant as stored: its fields without the empty ones."""
    return cast("ParticipantDocument", participant.model_dump(exclude_none=True))


def _written_to(documents: list[MessageDocument], inserted: set[str]) -> dict[str, datetime]:
    """The threads a newly stored inbound message went to, with the latest such message's
    time: a redelivered message is not new, so it reopens nothing twice."""
    latest: dict[str, datetime] = {}
    for document in documents:
        if document["_id"] in inserted and document["direction"] == "inbound":
            at = document["occurred_at"]
            thread = document["thread_id"]
            latest[thread] = max(at, latest.get(thread, at))
    return latest


def thread_participant(event: MessageEvent) -> ParticipantDocument:
    """Who a thread is with: the message's participant, or its group."""
    if event.group is not None:
        group: ParticipantDocument = {"channel_user_id": event.group.id}
        if event.group.subject:
            group["display_name"] = event.group.subject
        return group
    return participant_document(event.participant)


def _oldest(threads: Iterable[ThreadDocument | None]) -> ThreadDocument | None:
    """The thread created first, as ``find_or_create`` would pick it."""
    found = [thread for thread in threads if thread is not None]
    return min(found, key=lambda thread: thread["created_at"]) if found else None


def preview(event: MessageEvent) -> str:
    """At most 140 characters a chat list can show for any message."""
    return content_preview(event.content)


def _counterpart(event: MessageEvent) -> str:
    participant = event.participant
    return participant.email or participant.phone or participant.channel_user_id
