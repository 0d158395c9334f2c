"""``threads``: one per tenant, channel and participant, with its summary."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import Changes, ParticipantDocument, Query, ThreadDocument, ThreadSummary
from domain.store.paging import scan, scanned
from domain.store.search import participant_words
from domain.store.writes import insert_missing
from matchers.keys import phone_participant, thread_id

COLLECTION = "threads"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Ids per ``$in`` query when threads are read by id.
_IDS_PER_QUERY = 1000


#: How late a message's provider time may read and still be after a status change of its
#: second (``Threads.reopen``).
_SAME_SECOND = timedelta(seconds=1)


class Threads:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[ThreadDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("tenant_id", 1), ("channel", 1), ("participant_keys", 1)]
        )
        await self._collection.create_index([("tenant_id", 1), ("participant_keys", 1)])
        await self._collection.create_index(
            [("tenant_id", 1), ("last_message_at", -1), ("_id", -1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("customer_id", 1), ("last_message_at", -1), ("_id", -1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("channel", 1), ("last_message_at", -1), ("_id", -1)]
        )
        await self._collection.create_index([("tenant_id", 1), ("summary_at", 1)])
        await self._collection.create_index(
            [("tenant_id", 1), ("status", 1), ("last_message_at", -1)]
        )
        await self._collection.create_index([("tenant_id", 1), ("status", 1), ("assignee", 1)])
        await self._collection.create_index(
            [("tenant_id", 1), ("search_words", 1), ("last_message_at", -1), ("_id", -1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("labels", 1), ("last_message_at", -1), ("_id", -1)]
        )

    async def by_keys(
        self, tenant_id: str, channel: str, keys: list[str]
    ) -> dict[str, ThreadDocument]:
        """For each key, the oldest thread that has it: one query for a whole poll."""
        found: dict[str, ThreadDocument] = {}
        cursor = self._collection.find(
            {"tenant_id": tenant_id, "channel": channel, "participant_keys": {"$in": keys}},
            sort=[("created_at", 1)],
        )
        async for thread in cursor:
            for key in thread["participant_keys"]:
                found.setdefault(key, thread)
        return found

    async def find_or_create(
        self,
        tenant_id: str,
        channel: str,
        keys: list[str],
        participant: ParticipantDocument,
        business_account: str,
        now: datetime,
    ) -> ThreadDocument:
        """The participant's thread, found by any of its keys, created if there is none.

        A key the thread did not have yet is added to it.
        """
        existing = await self._collection.find_one(
            {"tenant_id": tenant_id, "channel": channel, "participant_keys": {"$in": keys}},
            sort=[("created_at", 1)],
        )
        if existing is not None:
            missing = [key for key in keys if key not in existing["participant_keys"]]
            if missing:
                existing = (
                    await self._collection.find_one_and_update(
                        {"_id": existing["_id"]},
                        {"$addToSet": {"participant_keys": {"$each": missing}}},
                        return_document=ReturnDocument.AFTER,
                    )
                    or existing
                )
            return existing
        document = new_thread(tenant_id, channel, keys, participant, business_account, now)
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            found = await self._collection.find_one({"_id": document["_id"]})
            if found is not None:
                return found
        return document

    async def create_many(self, documents: list[ThreadDocument]) -> dict[str, ThreadDocument]:
        """Insert new threads in one write; each one a concurrent creator made first is
        returned as stored. Keyed by ``_id``."""
        stored = {document["_id"]: document for document in documents}
        taken = await insert_missing(self._collection, documents)
        if taken:
            async for found in self._collection.find({"_id": {"$in": sorted(taken)}}):
                stored[found["_id"]] = found
        return stored

    async def update_participant(self, thread: str, participant: ParticipantDocument) -> None:
        """The participant's newer details; the thread stays findable by the older ones."""
        await self._collection.update_one(
            {"_id": thread},
            {
                "$set": {f"participant.{k}": v for k, v in participant.items() if v is not None},
                "$addToSet": _known_by(participant),
            },
        )

    async def move_identity(
        self, thread: str, keys: list[str], participant: ParticipantDocument
    ) -> None:
        """The thread's participant is now also known by ``keys``, with these details."""
        await self._collection.update_one(
            {"_id": thread},
            {
                "$addToSet": {"participant_keys": {"$each": keys}, **_known_by(participant)},
                "$set": {f"participant.{k}": v for k, v in participant.items() if v is not None},
            },
        )

    async def reopen(self, threads: dict[str, datetime]) -> None:
        """(v1.1) Each thread the customer wrote to at the given time is open again, unless it
        was resolved, set pending or snoozed after that (a late old message changes nothing).

        Providers give whole seconds (WhatsApp, Twilio): a message stamped with the second in
        which the status changed may have been written after it, so it counts as after."""
        if not threads:
            return
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {
                        "_id": thread,
                        "status": {"$in": ["resolved", "pending", "snoozed"]},
                        "status_at": {"$lt": wrote_at + _SAME_SECOND},
                    },
                    {"$set": {"status": "open", "status_at": wrote_at, "snoozed_until": None}},
                )
                for thread, wrote_at in threads.items()
            ],
            ordered=False,
        )

    async def work(self, tenant_id: str, thread: str, changes: Changes) -> ThreadDocument | None:
        """(v1.1) Apply a change of status, snooze, assignee or labels; the thread after it."""
        return await self._collection.find_one_and_update(
            {"_id": thread, "tenant_id": tenant_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )

    async def add_keys(self, thread: str, keys: list[str]) -> None:
        await self._collection.update_one(
            {"_id": thread}, {"$addToSet": {"participant_keys": {"$each": keys}}}
        )

    async def retire(self, thread: str, survivor: str) -> None:
        """``thread`` lives on as ``survivor``: it keeps no key, so nothing finds it again."""
        await self._collection.update_one(
            {"_id": thread},
            {"$set": {"merged_into": survivor, "participant_keys": [], "status": "merged"}},
        )

    async def link(
        self, thread: str, customer_id: str | None, matched_by: str | None, candidates: list[str]
    ) -> str | None:
        """Link an unlinked thread to a customer (or record the candidates when ambiguous).

        Returns the customer the thread is linked to now: another one when someone linked it
        first, in which case its messages are that customer's, not ``customer_id``'s.
        """
        result = await self._collection.update_one(
            {"_id": thread, "customer_id": None},
            {
                "$set": {
                    "customer_id": customer_id,
                    "matched_by": matched_by,
                    "candidates": candidates,
                }
            },
        )
        if result.modified_count or customer_id is None:
            return customer_id
        found = await self._collection.find_one({"_id": thread}, {"customer_id": 1})
        return found.get("customer_id") if found else None

    async def link_many(
        self, links: dict[str, tuple[str | None, str, list[str]]]
    ) -> dict[str, str | None]:
        """``link`` for several threads in one write: each unlinked one gets its customer
        (or, with None, its ambiguous rule and candidates). The customer each has after it."""
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": thread, "customer_id": None},
                    {
                        "$set": {
                            "customer_id": customer,
                            "matched_by": matched_by,
                            "candidates": candidates,
                        }
                    },
                )
                for thread, (customer, matched_by, candidates) in sorted(links.items())
            ],
            ordered=False,
        )
        found = self._collection.find({"_id": {"$in": sorted(links)}}, {"customer_id": 1})
        return {doc["_id"]: doc.get("customer_id") async for doc in found}

    async def unlinked_with_keys(
        self, tenant_id: str, keys: list[str], channel: str | None = None
    ) -> list[ThreadDocument]:
        """The unlinked threads with any of ``keys`` (of ``channel``, when given)."""
        # By the (tenant, participant_keys) index alone; the rest is checked on what comes back.
        found = self._collection.find(
            {"tenant_id": tenant_id, "participant_keys": {"$in": keys}},
            {"_id": 1, "channel": 1, "customer_id": 1, "participant_keys": 1},
        )
        return [
            thread
            async for thread in found
            if thread.get("customer_id") is None and channel in (None, thread["channel"])
        ]

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[ThreadDocument]:
        """The customer's threads: their channel and participant keys."""
        return await self._collection.find(
            {"tenant_id": tenant_id, "customer_id": customer_id},
            {"channel": 1, "participant_keys": 1},
        ).to_list()

    async def with_keys(
        self, tenant_id: str, channel: str, keys: list[str]
    ) -> list[ThreadDocument]:
        return await self._collection.find(
            {"tenant_id": tenant_id, "channel": channel, "participant_keys": {"$in": keys}}
        ).to_list()

    async def get(self, tenant_id: str, thread: str) -> ThreadDocument | None:
        return await self._collection.find_one({"_id": thread, "tenant_id": tenant_id})

    async def next_summary_revisions(
        self, threads: list[str]
    ) -> dict[str, tuple[int, datetime | None, list[str]]]:
        """Count a change to each thread's messages; returns each existing thread's revision,
        when it was last read and its participant's words, which the summary computed after
        it needs.

        A revision read here may already include another worker's later increment; that is
        safe, because the summary is computed after this read, so it sees that worker's
        messages too.
        """
        await self._collection.update_many(
            {"_id": {"$in": threads}}, {"$inc": {"summary_revision": 1}}
        )
        found = self._collection.find(
            {"_id": {"$in": threads}},
            {"summary_revision": 1, "last_read_at": 1, "participant_words": 1},
        )
        return {
            doc["_id"]: (
                int(doc["summary_revision"]),
                doc.get("last_read_at"),
                doc.get("participant_words") or [],
            )
            async for doc in found
        }

    async def set_summaries(self, summaries: list[tuple[str, int, ThreadSummary]]) -> None:
        """Store each (thread, revision, summary) unless a later revision's is stored."""
        now = datetime.now(UTC)
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {
                        "_id": thread,
                        # Below ``revision`` or absent; not an ``$or``, which some planners
                        # scan the collection for.
                        "summary_written": {"$not": {"$gte": revision}},
                    },
                    {"$set": {**summary, "summary_written": revision, "summary_at": now}},
                )
                for thread, revision, summary in summaries
            ],
            ordered=False,
        )

    async def page(
        self,
        tenant_id: str,
        filters: Query,
        *,
        below: tuple[datetime, str] | None,
        unchanged_since: datetime | None,
        limit: int,
    ) -> list[ThreadDocument]:
        """Threads newest activity first, strictly below ``below`` (last_message_at, id).

        With ``unchanged_since``, only threads whose summary has not changed since then: their
        position now is their position at that moment.
        """
        query = _listed(tenant_id, filters, unchanged_since)
        return await scanned(self._collection, query, "last_message_at", below, limit)

    def listing(
        self,
        tenant_id: str,
        filters: Query,
        *,
        below: tuple[datetime, str] | None,
        unchanged_since: datetime | None,
    ) -> AsyncGenerator[ThreadDocument, None]:
        """``page``'s threads one by one, read as the caller goes (filters applied in memory
        read on until they have enough)."""
        query = _listed(tenant_id, filters, unchanged_since)
        return scan(self._collection, query, "last_message_at", below)

    async def ids_by_phone(self, tenant_id: str, phone: str) -> set[str]:
        """(v1.1) The threads whose participant has the E.164 ``phone``."""
        query = {"tenant_id": tenant_id, "participant_keys": phone_participant(phone)}
        return {doc["_id"] async for doc in self._collection.find(query, {"_id": 1})}

    async def listed_by_ids(
        self, tenant_id: str, threads: list[str], filters: Query
    ) -> list[ThreadDocument]:
        """The listed threads (with a message, not merged away) among ``threads`` that pass
        ``filters``, found by id."""
        query: Query = {
            "tenant_id": tenant_id,
            **filters,
            "last_message_at": {"$gt": _EPOCH},
            "merged_into": {"$exists": False},
        }
        found: list[ThreadDocument] = []
        for start in range(0, len(threads), _IDS_PER_QUERY):
            chunk = threads[start : start + _IDS_PER_QUERY]
            found += await self._collection.find({"_id": {"$in": chunk}, **query}).to_list()
        return found

    async def changed_since(
        self, tenant_id: str, filters: Query, since: datetime, limit: int
    ) -> list[ThreadDocument]:
        """Threads whose summary changed after ``since`` (newest change first)."""
        cursor = (
            self._collection.find({"tenant_id": tenant_id, **filters, "summary_at": {"$gt": since}})
            .sort([("summary_at", -1)])
            .limit(limit)
        )
        return await cursor.to_list()

    async def mark_read(self, tenant_id: str, thread: str, at: datetime) -> None:
        """Everything up to ``at`` has been read.

        The unread count follows from the summary recomputed after this (a summary computed
        before it carries an older revision and loses).
        """
        await self._collection.update_one(
            {"_id": thread, "tenant_id": tenant_id}, {"$max": {"last_read_at": at}}
        )

    async def mark_unread(self, tenant_id: str, thread: str, at: datetime) -> None:
        """Only what came before ``at`` has been read (earlier than any read it replaces)."""
        await self._collection.update_one(
            {"_id": thread, "tenant_id": tenant_id}, {"$set": {"last_read_at": at}}
        )

    async def count_by_status(self, tenant_id: str, status: str | None) -> int:
        """Threads with a message and this status (None: written before statuses existed)."""
        return await self._collection.count_documents(
            {"tenant_id": tenant_id, "status": status, "last_message_at": {"$gt": _EPOCH}}
        )

    async def count_assigned(self, tenant_id: str, status: str | None, assignee: str | None) -> int:
        return await self._collection.count_documents(
            {"tenant_id": tenant_id, "status": status, "assignee": assignee}
        )

    async def snoozed(self, tenant_id: str) -> list[ThreadDocument]:
        """The snoozed threads: until when, and who has them."""
        return await self._collection.find(
            {"tenant_id": tenant_id, "status": "snoozed", "last_message_at": {"$gt": _EPOCH}},
            {"status": 1, "snoozed_until": 1, "assignee": 1},
        ).to_list()

    async def relink(self, thread: str, source: str | None, target: str, matched_by: str) -> bool:
        """Give a thread of ``source`` (None: nobody's) to ``target``, found by a stronger
        rule or by hand; False when it is no longer ``source``'s."""
        result = await self._collection.update_one(
            {"_id": thread, "customer_id": source},
            {"$set": {"customer_id": target, "matched_by": matched_by, "candidates": []}},
        )
        return result.modified_count == 1

    async def move_customer(self, tenant_id: str, source: str, target: str | None) -> int:
        """Relink every thread of ``source`` to ``target`` (None: unlinked)."""
        changes: Changes = {"customer_id": target, "candidates": []}
        if target is None:
            changes["matched_by"] = None
        result = await self._collection.update_many(
            {"tenant_id": tenant_id, "customer_id": source}, {"$set": changes}
        )
        return int(result.modified_count)


def _known_by(participant: ParticipantDocument) -> dict[str, Any]:
    """The participant's words added to the thread's (until its next summary rewrites them,
    from ``participant_words`` and the messages)."""
    known = {"$each": participant_words(participant)}
    return {"participant_words": known, "search_words": known}


def _listed(tenant_id: str, filters: Query, unchanged_since: datetime | None) -> Query:
    query: Query = {"tenant_id": tenant_id, **filters}
    if unchanged_since is not None:
        # Threads summarised before summaries were time-stamped have no ``summary_at``.
        query["summary_at"] = {"$not": {"$gt": unchanged_since}}
    return query


def new_thread(
    tenant_id: str,
    channel: str,
    keys: list[str],
    participant: ParticipantDocument,
    business_account: str,
    now: datetime,
) -> ThreadDocument:
    """A thread before its first message is counted in it."""
    return {
        "_id": thread_id(tenant_id, channel, keys[0]),
        "tenant_id": tenant_id,
        "channel": channel,
        "participant_keys": keys,
        "participant": participant,
        "business_account": business_account,
        "customer_id": None,
        "matched_by": None,
        "candidates": [],
        "created_at": now,
        "last_message": None,
        "last_message_at": None,
        "message_count": 0,
        "unread_count": 0,
        "last_read_at": None,
        "summary_revision": 0,
        "status": "open",
        "labels": [],
        "participant_words": participant_words(participant),
        "search_words": participant_words(participant),
    }
