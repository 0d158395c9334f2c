"""``messages``: every message of every thread, once, and each customer's communications."""

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any, TypedDict, cast

from pymongo import UpdateMany
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import (
    Changes,
    LastMessageDocument,
    MessageDocument,
    Query,
    StatusErrorDocument,
    ThreadSummary,
)
from domain.store.paging import beyond, scan
from domain.store.search import thread_words
from domain.store.writes import insert_missing

COLLECTION = "messages"

_OLDEST_FIRST = [("occurred_at", 1), ("_id", 1)]
_NEWEST_FIRST = [("occurred_at", -1), ("_id", -1)]

#: Delivery states only move forward; ``failed`` is final.
#: ``played`` (a voice message listened to) stands beside ``read``: neither replaces the other.
#: (v1.1) ``pending`` (a reply not sent yet) and ``unknown`` (a send whose outcome could not
#: be known) are behind every receipt, so the provider's first receipt settles them.
STATUS_RANK = {
    "pending": 0,
    "unknown": 0,
    "sent": 1,
    "delivered": 2,
    "played": 3,
    "read": 3,
    "failed": 4,
}


class _ThreadMessages(TypedDict):
    """A thread's row of the summary aggregation."""

    _id: str
    count: int
    inbound: int
    last: MessageDocument
    last_inbound_at: datetime | None
    #: Each message's words, newest message first.
    words: list[list[str] | None]


class _UnreadCount(TypedDict):
    _id: str
    unread: int


class Messages:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[MessageDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("thread_id", 1), ("occurred_at", 1), ("_id", 1)])
        await self._collection.create_index(
            [("thread_id", 1), ("direction", 1), ("occurred_at", 1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("channel", 1), ("provider_message_id", 1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("customer_id", 1), ("occurred_at", -1), ("_id", -1)]
        )
        await self._collection.create_index([("tenant_id", 1), ("references", 1)])
        await self._collection.create_index(
            [("tenant_id", 1), ("search_words", 1), ("occurred_at", -1), ("_id", -1)]
        )

    async def insert_new(self, documents: list[MessageDocument]) -> set[str]:
        """Insert each message unless already stored; the ids actually inserted."""
        present = await insert_missing(self._collection, documents)
        return {document["_id"] for document in documents} - present

    async def summaries(
        self, threads_read: dict[str, tuple[datetime | None, list[str]]]
    ) -> dict[str, ThreadSummary]:
        """Each thread's summary, computed from its stored messages and (for its words) its
        participant's words: one aggregation for all of them, and one more for the unread
        counts of threads read before."""
        threads = list(threads_read)
        last_read_at = {thread: read for thread, (read, _) in threads_read.items()}
        grouping = self._collection.aggregate(
            [
                # Notes are staff's, not the conversation's: no count, no last message.
                {
                    "$match": {
                        "thread_id": {"$in": threads},
                        "direction": {"$in": ["inbound", "outbound"]},
                    }
                },
                {"$sort": {"thread_id": 1, "occurred_at": -1, "_id": -1}},
                {
                    "$group": {
                        "_id": "$thread_id",
                        "count": {"$sum": 1},
                        "inbound": {"$sum": {"$cond": [{"$eq": ["$direction", "inbound"]}, 1, 0]}},
                        "last": {"$first": "$$ROOT"},
                        "words": {"$push": "$search_words"},
                        "last_inbound_at": {
                            "$max": {
                                "$cond": [
                                    {"$eq": ["$direction", "inbound"]},
                                    "$occurred_at",
                                    None,
                                ]
                            }
                        },
                    }
                },
            ]
        )
        grouped = cast("list[_ThreadMessages]", await (await grouping).to_list())
        unread = {group["_id"]: group["inbound"] for group in grouped}
        read_before = {t: at for t, at in last_read_at.items() if at is not None and t in unread}
        if read_before:
            branches = [
                {"thread_id": thread, "direction": "inbound", "occurred_at": {"$gt": at}}
                for thread, at in read_before.items()
            ]
            counting = self._collection.aggregate(
                [
                    {"$match": {"$or": branches}},
                    {"$group": {"_id": "$thread_id", "unread": {"$sum": 1}}},
                ]
            )
            counted = cast("list[_UnreadCount]", await (await counting).to_list())
            unread.update(dict.fromkeys(read_before, 0))
            unread.update({group["_id"]: group["unread"] for group in counted})
        by_thread = {group["_id"]: group for group in grouped}
        summaries: dict[str, ThreadSummary] = {}
        for thread in threads:
            group = by_thread.get(thread)
            last = group["last"] if group else None
            summaries[thread] = {
                "message_count": group["count"] if group else 0,
                "unread_count": unread.get(thread, 0),
                "last_message_at": last["occurred_at"] if last else None,
                "last_message": _last_message(last) if last else None,
                "last_inbound_at": group.get("last_inbound_at") if group else None,
                "search_words": thread_words(
                    threads_read[thread][1], group["words"] if group else []
                ),
            }
        return summaries

    async def apply_status(
        self,
        tenant_id: str,
        channel: str,
        provider_message_id: str,
        status: str,
        occurred_at: datetime,
        error: StatusErrorDocument | None,
        details: Changes | None = None,
    ) -> int:
        """Move the message's status forward; how many messages exist with that id."""
        query: Query = {
            "tenant_id": tenant_id,
            "channel": channel,
            "provider_message_id": provider_message_id,
        }
        return await self._advance(query, status, occurred_at, error, details)

    async def apply_status_up_to(
        self,
        thread: str,
        watermark: datetime,
        status: str,
        occurred_at: datetime,
    ) -> None:
        """A receipt covering every outbound message of the thread up to ``watermark``."""
        selected = {
            "thread_id": thread,
            "direction": "outbound",
            "occurred_at": {"$lte": watermark},
        }
        await self._advance(selected, status, occurred_at, None, None)

    async def _advance(
        self,
        selected: Query,
        status: str,
        occurred_at: datetime,
        error: StatusErrorDocument | None,
        details: Changes | None,
    ) -> int:
        """Move forward the status of the messages ``selected`` finds; how many it found.
        ``details`` (a receipt's pricing and conversation) are kept whatever the status.

        Found by the index's fields alone, then changed by id where the status is still
        behind: a filter with fields outside the index is a collection scan on some planners.
        """
        rank = STATUS_RANK[status]
        found = [doc["_id"] async for doc in self._collection.find(selected, {"_id": 1})]
        if found:
            await self._collection.update_many(
                {"_id": {"$in": found}, "status_rank": {"$lt": rank}, "status": {"$ne": "failed"}},
                {"$set": _status_fields(status, occurred_at, error)},
            )
            if details:
                await self._collection.update_many({"_id": {"$in": found}}, {"$set": details})
        return len(found)

    async def mark_deleted(
        self, tenant_id: str, channel: str, provider_message_id: str, preview: str
    ) -> None:
        await self._collection.update_many(
            {
                "tenant_id": tenant_id,
                "channel": channel,
                "provider_message_id": provider_message_id,
            },
            {"$set": {"deleted": True, "preview": preview}},
        )

    async def threads_referencing(self, tenant_id: str, references: list[str]) -> set[str]:
        """The threads with a message that names any of ``references``."""
        found = self._collection.find(
            {"tenant_id": tenant_id, "references": {"$in": references}}, {"thread_id": 1}
        )
        return {doc["thread_id"] async for doc in found}

    async def referenced(self, tenant_id: str, references: list[str]) -> set[str]:
        """Which of ``references`` a message names."""
        if not references:
            return set()
        found = self._collection.find(
            {"tenant_id": tenant_id, "references": {"$in": references}}, {"references": 1}
        )
        wanted = set(references)
        return {ref async for doc in found for ref in doc.get("references", []) if ref in wanted}

    async def move_thread(self, source: str, target: str) -> int:
        """Every message of ``source`` into ``target``; how many moved."""
        found = [
            doc["_id"] async for doc in self._collection.find({"thread_id": source}, {"_id": 1})
        ]
        if found:
            await self._collection.update_many(
                {"_id": {"$in": found}}, {"$set": {"thread_id": target}}
            )
        return len(found)

    async def _ids_of_thread(self, thread: str) -> list[str]:
        return [
            doc["_id"] async for doc in self._collection.find({"thread_id": thread}, {"_id": 1})
        ]

    async def searching(
        self, tenant_id: str, wanted: list[str], *, below: tuple[datetime, str] | None
    ) -> AsyncGenerator[MessageDocument, None]:
        """(v1.1) The tenant's messages with every word of ``wanted``, newest first, strictly
        below ``below`` (occurred_at, id), read as the caller goes.

        Found by one word through the (tenant, words, occurred_at, _id) index, a window at a
        time, and checked for the others here: an ``$all`` of several words is a collection
        scan on some planners. The longest word is taken as the rarest.
        """
        query: Query = {"tenant_id": tenant_id, "search_words": max(wanted, key=len)}
        others = set(wanted)
        async with aclosing(scan(self._collection, query, "occurred_at", below)) as found:
            async for message in found:
                if others <= set(message.get("search_words") or ()):
                    yield message

    async def insert_note(self, note: MessageDocument) -> None:
        await self._collection.insert_one(note)

    async def remove_note(self, tenant_id: str, thread: str, note: str) -> bool:
        result = await self._collection.delete_one(
            {"_id": note, "tenant_id": tenant_id, "thread_id": thread, "direction": "note"}
        )
        return result.deleted_count == 1

    async def remove(self, messages: list[str]) -> None:
        await self._collection.delete_many({"_id": {"$in": messages}})

    async def by_provider_ids(
        self, tenant_id: str, channel: str, provider_message_ids: list[str]
    ) -> list[MessageDocument]:
        return await self._collection.find(
            {
                "tenant_id": tenant_id,
                "channel": channel,
                "provider_message_id": {"$in": provider_message_ids},
            }
        ).to_list()

    async def apply_edits(self, message: str, changes: Changes, applied: int) -> bool:
        """Store the message as ``applied`` edits make it, unless a recomputation from more
        edits is stored already (edits only accumulate)."""
        result = await self._collection.update_one(
            {"_id": message, "edits_applied": {"$not": {"$gte": applied}}},
            {"$set": {**changes, "edits_applied": applied}},
        )
        return result.modified_count == 1

    async def link_thread(self, thread: str, customer_id: str, matched_by: str) -> None:
        """Link the thread's unlinked messages to a customer (retroactive linking)."""
        await self.relink_thread(thread, None, customer_id, matched_by)

    async def link_threads(self, links: dict[str, tuple[str, str]]) -> None:
        """``link_thread`` for several threads (thread: (customer, rule)): one read of their
        messages by the thread index, one write."""
        if not links:
            return
        found = self._collection.find(
            {"thread_id": {"$in": sorted(links)}},
            {"thread_id": 1, "customer_id": 1, "direction": 1},
        )
        unlinked: dict[str, list[str]] = {}
        async for message in found:
            if message.get("customer_id") is None and message["direction"] != "note":
                unlinked.setdefault(message["thread_id"], []).append(message["_id"])
        if unlinked:
            await self._collection.bulk_write(
                [
                    UpdateMany(
                        {"_id": {"$in": ids}, "customer_id": None},
                        {
                            "$set": {
                                "customer_id": links[thread][0],
                                "matched_by": links[thread][1],
                            }
                        },
                    )
                    for thread, ids in sorted(unlinked.items())
                ],
                ordered=False,
            )

    async def last_inbound(self, thread: str) -> MessageDocument | None:
        """(v1.1) The customer's latest message in the thread, by the provider's clock."""
        return await self._collection.find_one(
            {"thread_id": thread, "direction": "inbound"}, sort=[("occurred_at", -1)]
        )

    async def first_of_thread(self, thread: str) -> MessageDocument | None:
        """The thread's earliest message."""
        return await self._collection.find_one({"thread_id": thread}, sort=_OLDEST_FIRST)

    async def relink_thread(
        self, thread: str, source: str | None, target: str, matched_by: str
    ) -> None:
        """The thread's messages of ``source`` (None: the unlinked ones) become ``target``'s."""
        # The thread's messages by its index, then those of ``source`` among them by id.
        found = await self._ids_of_thread(thread)
        if found:
            await self._collection.update_many(
                # Notes stay nobody's: they are not the customer's communications.
                {"_id": {"$in": found}, "customer_id": source, "direction": {"$ne": "note"}},
                {"$set": {"customer_id": target, "matched_by": matched_by}},
            )

    async def give_thread(self, thread: str, target: str, matched_by: str) -> set[str]:
        """Every message of the thread but its notes becomes ``target``'s, whoever's it was
        (a thread made of two keeps each one's messages); the customers they were of before."""
        found = self._collection.find({"thread_id": thread}, {"customer_id": 1, "direction": 1})
        said = [doc async for doc in found if doc["direction"] != "note"]
        if said:
            await self._collection.update_many(
                {"_id": {"$in": [doc["_id"] for doc in said]}},
                {"$set": {"customer_id": target, "matched_by": matched_by, "candidates": []}},
            )
        return {owner for doc in said if (owner := doc.get("customer_id"))} - {target}

    async def media_changed(self, message: str, at: datetime) -> None:
        """(v1.1) An attachment's file of ``message`` changed state (none if not stored yet)."""
        await self._collection.update_one({"_id": message}, {"$set": {"media_changed_at": at}})

    async def get(self, tenant_id: str, message: str) -> MessageDocument | None:
        return await self._collection.find_one({"_id": message, "tenant_id": tenant_id})

    async def page(
        self,
        thread: str,
        *,
        before: tuple[datetime, str] | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[MessageDocument]:
        """Up to ``limit`` messages of the thread, oldest first: just after ``after``, else
        just before ``before``, else the newest."""
        if after is not None:
            return await self._beyond(thread, after, "$gt", limit)
        if before is not None:
            return (await self._beyond(thread, before, "$lt", limit))[::-1]
        cursor = self._collection.find({"thread_id": thread}).sort(_NEWEST_FIRST).limit(limit)
        return (await cursor.to_list())[::-1]

    async def exists_beyond(self, thread: str, position: tuple[datetime, str], op: str) -> bool:
        """Whether the thread has a message after (``$gt``) or before (``$lt``) ``position``."""
        return bool(await self._beyond(thread, position, op, 1))

    async def _beyond(
        self, thread: str, position: tuple[datetime, str], op: str, limit: int
    ) -> list[MessageDocument]:
        """The ``limit`` messages nearest ``position`` on one side, nearest first, from the
        (thread, occurred_at, _id) index."""
        return await beyond(
            self._collection, {"thread_id": thread}, "occurred_at", position, op, limit
        )

    async def last_message_at_as_of(self, thread: str, moment: datetime) -> datetime | None:
        """When the thread's newest message among those stored by ``moment`` was sent."""
        last = await self._collection.find_one(
            {"thread_id": thread, "stored_at": {"$lte": moment}},
            {"occurred_at": 1},
            sort=[("occurred_at", -1), ("_id", -1)],
        )
        return last["occurred_at"] if last else None

    async def of_customer(
        self, tenant_id: str, customer_id: str, *, skip: int, limit: int
    ) -> tuple[list[MessageDocument], int]:
        """The customer's communications, newest first, and how many there are."""
        query = {"tenant_id": tenant_id, "customer_id": customer_id}
        cursor = (
            self._collection.find(query)
            .sort([("occurred_at", -1), ("_id", -1)])
            .skip(skip)
            .limit(limit)
        )
        return await cursor.to_list(), await self._collection.count_documents(query)

    async def move_customer(self, tenant_id: str, source: str, target: str | None) -> None:
        """Relink every communication of ``source`` to ``target`` (None: unlinked)."""
        changes: Changes = {"customer_id": target, "candidates": []}
        if target is None:
            changes["matched_by"] = None
        await self._collection.update_many(
            {"tenant_id": tenant_id, "customer_id": source}, {"$set": changes}
        )

    async def latest_for_customer(self, tenant_id: str, customer_id: str) -> datetime | None:
        last = await self._collection.find_one(
            {"tenant_id": tenant_id, "customer_id": customer_id},
            {"occurred_at": 1},
            sort=[("occurred_at", -1), ("_id", -1)],
        )
        return last["occurred_at"] if last else None


def _status_fields(
    status: str, occurred_at: datetime, error: StatusErrorDocument | None
) -> Changes:
    fields: Changes = {
        "status": status,
        "status_rank": STATUS_RANK[status],
        f"status_times.{status}": occurred_at,
    }
    if error is not None:
        fields["status_error"] = error
    return fields


def _last_message(message: MessageDocument) -> LastMessageDocument:
    return {
        "message_id": message["_id"],
        "preview": message.get("preview", ""),
        "direction": message["direction"],
        "occurred_at": message["occurred_at"],
        "content_type": message["content"]["type"],
    }
