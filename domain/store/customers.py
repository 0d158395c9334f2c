"""``customers``: profiles, their identifiers, and the analytics derived from bookings."""

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import (
    BookingAnalytics,
    Changes,
    CustomerDocument,
    KnownCustomerDocument,
    ProfileFields,
    Query,
)
from domain.store.search import GRAM, external_id_fields, fold, grams, name_clause, name_fields
from domain.store.writes import insert_missing
from matchers.identity import Candidate, Identifiers, Rule

COLLECTION = "customers"
_LIVE = {"merged_into": None}
#: What matching reads of a customer.
_MATCHED = {
    "created_at": 1,
    "merged_into": 1,
    "external_id": 1,
    "emails": 1,
    "phone_key": 1,
    "previous_phone_keys": 1,
    "channel_identities": 1,
}
#: Candidates read per identifier value: more than any rule needs to call a match ambiguous.
_CANDIDATES_PER_VALUE = 50

#: The list's sort orders, by the API's name for them; ties broken by id.
SORTS: dict[str, list[tuple[str, int]]] = {
    "-created_at": [("created_at", -1), ("_id", -1)],
    "created_at": [("created_at", 1), ("_id", 1)],
    "name": [("search_name", 1), ("_id", 1)],
    "-total_bookings": [("analytics.total_bookings", -1), ("_id", -1)],
    "-last_booking_at": [("analytics.last_booking_at", -1), ("_id", -1)],
}


def new_profile(tenant_id: str, *, source: str, now: datetime) -> ProfileFields:
    """A profile with no identifiers and no bookings yet; its creator fills in the rest."""
    return {
        "tenant_id": tenant_id,
        "source": source,
        "created_at": now,
        "customer_since": now,
        "emails": [],
        "phone": None,
        "previous_phones": [],
        "previous_phone_keys": [],
        "channel_identities": [],
        "tags": [],
        "notes": None,
        "merged_into": None,
        "revision": 0,
        "bookings_revision": 0,
        "analytics": {
            "total_bookings": 0,
            "total_spent": [],
            "lifetime_value": [],
            "last_booking_at": None,
            "last_contact_at": None,
            "customer_since": now,
        },
        "known_customers": [],
    }


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """A search of the customer list: ``text`` matches part of the name, an email (or its
    start) or the external id; ``phone_key`` any current or previous phone."""

    text: str | None = None
    phone_key: str | None = None
    source: str | None = None
    tag: str | None = None
    sort: str = "-created_at"


class Customers:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[CustomerDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        """Every lookup the matchers make is index-backed."""
        for keys in (
            [("tenant_id", 1), ("external_id", 1)],
            [("tenant_id", 1), ("emails", 1)],
            [("tenant_id", 1), ("phone_key", 1)],
            [("tenant_id", 1), ("previous_phone_keys", 1)],
            [
                ("tenant_id", 1),
                ("channel_identities.channel", 1),
                ("channel_identities.channel_user_id", 1),
            ],
            [("tenant_id", 1), ("created_at", -1), ("_id", -1)],
            [("tenant_id", 1), ("search_name", 1), ("_id", 1)],
            [("tenant_id", 1), ("search_words", 1)],
            [("tenant_id", 1), ("search_grams", 1)],
            [("tenant_id", 1), ("external_id_folded", 1)],
            [("tenant_id", 1), ("analytics.total_bookings", -1), ("_id", -1)],
            [("tenant_id", 1), ("analytics.last_booking_at", -1), ("_id", -1)],
            [("tenant_id", 1), ("source", 1), ("created_at", -1)],
            [("tenant_id", 1), ("tags", 1), ("created_at", -1)],
            [("tenant_id", 1), ("merged_into", 1)],
        ):
            await self._collection.create_index(keys)

    async def search(
        self, tenant_id: str, query: CustomerQuery, *, skip: int, limit: int
    ) -> tuple[list[CustomerDocument], int]:
        """One page of live customers matching ``query``, and how many match in all."""
        if not _searching(query):
            filters = _search_filters(tenant_id, query)
            cursor = self._collection.find(filters).sort(SORTS[query.sort]).skip(skip)
            return await cursor.limit(limit).to_list(), await self._collection.count_documents(
                filters
            )
        ranked = await self._ranked(tenant_id, query)
        return await self._whole([doc["_id"] for doc in ranked[skip : skip + limit]]), len(ranked)

    async def matching(
        self, tenant_id: str, query: CustomerQuery, *, batch: int
    ) -> AsyncIterator[CustomerDocument]:
        """(v1.1) Every live customer matching ``query``, in its order, ``batch`` per round
        trip (the Excel export)."""
        if not _searching(query):
            filters = _search_filters(tenant_id, query)
            async for document in (
                self._collection.find(filters).sort(SORTS[query.sort]).batch_size(batch)
            ):
                yield document
            return
        ranked = [doc["_id"] for doc in await self._ranked(tenant_id, query)]
        for start in range(0, len(ranked), batch):
            for document in await self._whole(ranked[start : start + batch]):
                yield document

    async def _ranked(self, tenant_id: str, query: CustomerQuery) -> list[CustomerDocument]:
        """Every live customer ``query.text`` or ``query.phone_key`` finds, in the list's
        order (only the fields that filter and sort them read).

        One query per way of matching, each on an index by equality or a range, merged here:
        an ``$or`` of them, or ``$all`` of a name's trigrams, is a collection scan on some
        planners. The rest of a name's trigrams, the source and the tag are checked on what
        comes back; the count is the merged set's size, without a second scan."""
        found: dict[str, CustomerDocument] = {}
        for branch, check in _branches(query):
            candidates = self._collection.find({"tenant_id": tenant_id, **branch}, _CANDIDATE)
            async for document in candidates:
                if document["_id"] not in found and check(document) and _kept(document, query):
                    found[document["_id"]] = document
        field, direction = SORTS[query.sort][0]
        return sorted(found.values(), key=lambda doc: _sort_key(doc, field), reverse=direction < 0)

    async def _whole(self, ids: list[str]) -> list[CustomerDocument]:
        """The customers ``ids`` name, whole, in that order."""
        if not ids:
            return []
        by_id = {doc["_id"]: doc async for doc in self._collection.find({"_id": {"$in": ids}})}
        return [by_id[i] for i in ids if i in by_id]

    async def names(self, tenant_id: str, customer_ids: list[str]) -> dict[str, str | None]:
        """The name of each of these customers (for lists that show who a thread is with)."""
        if not customer_ids:
            return {}
        # By id alone (the primary key serves it on every planner); the tenant is checked on
        # what comes back, so another tenant's customer is never named.
        cursor = self._collection.find({"_id": {"$in": customer_ids}}, {"name": 1, "tenant_id": 1})
        return {
            doc["_id"]: doc.get("name") async for doc in cursor if doc["tenant_id"] == tenant_id
        }

    async def insert(self, document: CustomerDocument) -> None:
        """Store a new profile made whole by its caller (a person created on the dashboard)."""
        stored: CustomerDocument = {
            **document,
            **name_fields(document.get("name")),
            **external_id_fields(document.get("external_id")),
        }
        await self._collection.insert_one(stored)

    async def delete(self, tenant_id: str, customer_id: str) -> bool:
        result = await self._collection.delete_one({"_id": customer_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    async def mark_merged(self, tenant_id: str, source: str, target: str) -> None:
        """``source`` now lives on as ``target``; so does anything merged into it before."""
        await self._collection.update_many(
            {"tenant_id": tenant_id, "$or": [{"_id": source}, {"merged_into": source}]},
            {"$set": {"merged_into": target, "updated_at": datetime.now(UTC)}},
        )

    async def candidates_by_rule(
        self, tenant_id: str, rules: tuple[Rule, ...], identifiers: Identifiers
    ) -> dict[Rule, list[Candidate]]:
        """The live customers each of ``rules`` finds (oldest first)."""
        pool = await self.candidates(tenant_id, rules, [identifiers])
        return pool.by_rule(rules, identifiers)

    async def candidates(
        self,
        tenant_id: str,
        rules: tuple[Rule, ...],
        identifiers: list[Identifiers],
        *,
        whole: bool = False,
    ) -> "CandidatePool":
        """Every live customer any of ``rules`` finds for any of ``identifiers``: one
        index-served query per rule, however many people are asked about. The profiles are
        read ``whole``, or only what matching reads.

        One query per rule rather than one ``$or`` of them all: an ``$or`` is a collection scan
        on some planners, and a poll of new participants would make one per participant.
        """
        found: dict[str, CustomerDocument] = {}
        for query, values in _rule_queries(rules, identifiers):
            # Only the index's own fields in the filter (a planner may scan for any other);
            # retired profiles are dropped from what comes back.
            cursor = (
                self._collection.find(
                    {"tenant_id": tenant_id, **query}, None if whole else _MATCHED
                )
                .sort([("created_at", 1), ("_id", 1)])
                .limit(_CANDIDATES_PER_VALUE * values)
            )
            async for doc in cursor:
                if doc.get("merged_into") is None:
                    found.setdefault(doc["_id"], doc)
        return CandidatePool(sorted(found.values(), key=lambda d: (d["created_at"], d["_id"])))

    async def create_if_missing(
        self, tenant_id: str, customer_id: str, *, source: str, now: datetime
    ) -> None:
        """Create the profile unless a concurrent creator already did."""
        await self._collection.update_one(
            {"_id": customer_id},
            {"$setOnInsert": new_profile(tenant_id, source=source, now=now)},
            upsert=True,
        )

    async def get(self, tenant_id: str, customer_id: str) -> CustomerDocument | None:
        return await self._collection.find_one({"_id": customer_id, "tenant_id": tenant_id})

    async def update_checked(self, customer_id: str, revision: int, changes: Changes) -> bool:
        """Apply ``changes`` if the profile is still at ``revision`` (compare and set)."""
        result = await self._collection.update_one(
            {"_id": customer_id, "revision": revision}, _checked_update(changes)
        )
        return result.modified_count == 1

    async def update_many_checked(self, updates: dict[str, tuple[int, Changes]]) -> bool:
        """``update_checked`` for several profiles (customer: revision read, changes) in one
        write. False when any had moved on (the others are written)."""
        if not updates:
            return True
        result = await self._collection.bulk_write(
            [
                UpdateOne({"_id": customer, "revision": revision}, _checked_update(changes))
                for customer, (revision, changes) in sorted(updates.items())
            ],
            ordered=False,
        )
        return result.matched_count == len(updates)

    async def insert_new(self, documents: list[CustomerDocument]) -> bool:
        """Insert new profiles whole, in one write; False when any was there already (the
        others are written)."""
        whole = [{**document, **_derived(dict(document))} for document in documents]
        return not await insert_missing(self._collection, whole)

    async def existing(self, customer_ids: list[str]) -> set[str]:
        """Which of ``customer_ids`` have a profile, live or merged."""
        found = self._collection.find({"_id": {"$in": customer_ids}}, {"_id": 1})
        return {doc["_id"] async for doc in found}

    async def live(self, tenant_id: str, customer_ids: list[str]) -> set[str]:
        """Which of ``customer_ids`` are profiles neither merged nor deleted."""
        found = self._collection.find(
            {"_id": {"$in": customer_ids}, "tenant_id": tenant_id}, {"merged_into": 1}
        )
        return {doc["_id"] async for doc in found if doc.get("merged_into") is None}

    async def by_external_ids(self, tenant_id: str, external_ids: list[str]) -> list[Candidate]:
        cursor = self._collection.find(
            {"tenant_id": tenant_id, "external_id": {"$in": external_ids}},
            {"external_id": 1, "merged_into": 1},
        ).sort([("created_at", 1), ("_id", 1)])
        return [
            Candidate(doc["_id"], doc.get("external_id"))
            async for doc in cursor
            if doc.get("merged_into") is None
        ]

    async def touch_contact(self, customer_id: str, occurred_at: datetime) -> None:
        """``last_contact_at`` is the latest communication, whatever order they arrive in."""
        await self._collection.update_one(
            {"_id": customer_id}, {"$max": {"analytics.last_contact_at": occurred_at}}
        )

    async def touch_contacts(self, latest: dict[str, datetime]) -> None:
        """``touch_contact`` for several customers at once, in one write."""
        if not latest:
            return
        await self._collection.bulk_write(
            [
                UpdateOne({"_id": customer}, {"$max": {"analytics.last_contact_at": at}})
                for customer, at in sorted(latest.items())
            ],
            ordered=False,
        )

    async def set_contact(self, customer_id: str, last_contact_at: datetime | None) -> None:
        """``last_contact_at`` recomputed (after a conversation moved to someone else)."""
        await self._collection.update_one(
            {"_id": customer_id}, {"$set": {"analytics.last_contact_at": last_contact_at}}
        )

    async def bookings_revisions(self, customer_ids: list[str]) -> dict[str, int]:
        """How many changes each customer's bookings have had (analytics say which they saw);
        customers that no longer exist are left out."""
        found = self._collection.find({"_id": {"$in": customer_ids}}, {"bookings_revision": 1})
        return {doc["_id"]: int(doc.get("bookings_revision", 0)) async for doc in found}

    async def set_analytics(self, computed: dict[str, "ComputedAnalytics"]) -> bool:
        """Store each customer's analytics if their bookings revision is still the one they
        were computed at, counting one more. False when any had moved on (the others are
        stored; which one is not known)."""
        if not computed:
            return True
        result = await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": customer, "bookings_revision": row.revision},
                    {
                        "$set": {
                            **{f"analytics.{name}": value for name, value in row.analytics.items()},
                            "known_customers": row.known_customers,
                            "bookings_revision": row.revision + 1,
                            # Which revision the analytics saw (releases before this one
                            # compared it before storing theirs).
                            "analytics_revision": row.revision + 1,
                        }
                    },
                )
                for customer, row in sorted(computed.items())
            ],
            ordered=False,
        )
        return result.matched_count == len(computed)


@dataclass(frozen=True, slots=True)
class ComputedAnalytics:
    """A customer's analytics and known customers, computed from the bookings read at
    bookings ``revision``."""

    revision: int
    analytics: BookingAnalytics
    known_customers: list[KnownCustomerDocument]


def _derived(changes: Changes) -> Changes:
    """The search fields that follow from the name and external id among ``changes``."""
    derived: Changes = {}
    if "name" in changes:
        derived.update(name_fields(changes["name"]))
    if "external_id" in changes:
        derived.update(external_id_fields(changes["external_id"]))
    return derived


def _checked_update(changes: Changes) -> Changes:
    return {
        "$set": {**changes, **_derived(changes), "updated_at": datetime.now(UTC)},
        "$inc": {"revision": 1},
    }


def _rule_queries(rules: tuple[Rule, ...], people: list[Identifiers]) -> list[tuple[Query, int]]:
    """Each rule's query for all of ``people`` at once, and how many values it asks for."""
    queries: list[tuple[Query, int]] = []
    for rule in rules:
        match rule:
            case Rule.EXTERNAL_ID:
                queries += _in("external_id", {p.external_id for p in people if p.external_id})
            case Rule.EMAIL:
                queries += _in("emails", {email for p in people for email in p.emails})
            case Rule.PHONE:
                queries += _in("phone_key", {p.phone_key for p in people if p.phone_key})
            case Rule.PREVIOUS_PHONE:
                queries += _in("previous_phone_keys", {p.phone_key for p in people if p.phone_key})
            case Rule.CHANNEL_IDENTITY:
                users: dict[str, set[str]] = {}
                for person in people:
                    for channel, user in person.channel_identities:
                        users.setdefault(channel, set()).add(user)
                for channel, wanted in sorted(users.items()):
                    # Both fields of the index by equality; whether they are the same element
                    # of the array is checked on what comes back.
                    queries += [
                        ({"channel_identities.channel": channel, **query}, count)
                        for query, count in _in("channel_identities.channel_user_id", wanted)
                    ]
    return queries


def _in(field: str, values: set[str]) -> list[tuple[Query, int]]:
    return [({field: {"$in": sorted(values)}}, len(values))] if values else []


@dataclass(frozen=True, slots=True)
class CandidatePool:
    """Live customers fetched for several people at once, oldest first; which of them each
    rule finds for one person is answered from memory."""

    documents: list[CustomerDocument]

    def by_rule(
        self, rules: tuple[Rule, ...], identifiers: Identifiers
    ) -> dict[Rule, list[Candidate]]:
        found: dict[Rule, list[Candidate]] = {}
        for doc in self.documents:
            for rule in rules:
                if _finds(rule, identifiers, doc):
                    candidate = Candidate(
                        customer_id=doc["_id"], external_id=doc.get("external_id")
                    )
                    found.setdefault(rule, []).append(candidate)
        return found


def _finds(rule: Rule, ids: Identifiers, doc: CustomerDocument) -> bool:
    match rule:
        case Rule.EXTERNAL_ID:
            return bool(ids.external_id) and doc.get("external_id") == ids.external_id
        case Rule.EMAIL:
            return any(email in (doc.get("emails") or []) for email in ids.emails)
        case Rule.PHONE:
            return bool(ids.phone_key) and doc.get("phone_key") == ids.phone_key
        case Rule.PREVIOUS_PHONE:
            return bool(ids.phone_key) and ids.phone_key in (doc.get("previous_phone_keys") or [])
        case Rule.CHANNEL_IDENTITY:
            linked = {
                (item.get("channel"), item.get("channel_user_id"))
                for item in doc.get("channel_identities") or []
            }
            return any(identity in linked for identity in ids.channel_identities)
    return False


#: What a search reads of each candidate: what filters it and every sort key.
_CANDIDATE = {
    "merged_into": 1,
    "source": 1,
    "tags": 1,
    "created_at": 1,
    "search_name": 1,
    "search_words": 1,
    "emails": 1,
    "analytics.total_bookings": 1,
    "analytics.last_booking_at": 1,
}
#: Above every character: ``{"$gte": p, "$lt": p + _LAST}`` is "starts with ``p``" as a range.
_LAST = "\U0010ffff"


def _searching(query: CustomerQuery) -> bool:
    return bool(query.phone_key or (query.text and query.text.strip()))


def _starts(prefix: str) -> Query:
    return {"$gte": prefix, "$lt": prefix + _LAST}


def _branches(query: CustomerQuery) -> list[tuple[Query, Callable[[CustomerDocument], bool]]]:
    """Each way ``query`` matches, as an index-served filter and the check of what it finds."""
    found: list[tuple[Query, Callable[[CustomerDocument], bool]]] = []

    def anything(_: CustomerDocument) -> bool:
        return True

    if query.text and query.text.strip():
        folded = fold(query.text)
        if len(folded) >= GRAM:
            # One trigram through the index, then the whole name on what it gives.
            rarest = max(grams(folded), key=_rarity)
            found.append(
                ({"search_grams": rarest}, lambda doc: folded in (doc.get("search_name") or ""))
            )
        elif folded:
            found.append(
                (
                    {"search_words": _starts(folded)},
                    lambda doc: any(w.startswith(folded) for w in doc.get("search_words") or []),
                )
            )
        lowered = query.text.strip().lower()
        found.append(({"emails": _starts(lowered)}, anything))
        found.append(({"external_id_folded": folded}, anything))
    if query.phone_key:
        found.append(({"phone_key": query.phone_key}, anything))
        found.append(({"previous_phone_keys": query.phone_key}, anything))
    return found


#: Letters by how rarely they start or fill a name, so the trigram asked of the index finds
#: the fewest candidates (a guess from English and European names; any trigram is correct).
_COMMON = "eaoinrlstmhdcuybgkjpfvwzxq"


def _rarity(gram: str) -> int:
    return sum(_COMMON.index(c) if c in _COMMON else len(_COMMON) for c in gram)


def _kept(document: CustomerDocument, query: CustomerQuery) -> bool:
    return (
        document.get("merged_into") is None
        and (not query.source or document.get("source") == query.source)
        and (not query.tag or query.tag in (document.get("tags") or []))
    )


def _sort_key(document: CustomerDocument, field: str) -> tuple[Any, ...]:
    """The list's order as MongoDB sorts it (a missing value below every other), ties by id."""
    value: Any = document
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return (value is not None, value if value is not None else 0, document["_id"])


def _search_filters(tenant_id: str, query: CustomerQuery) -> Query:
    """The customer list's filter: live customers of the tenant, with the source and tag, and
    any of the ways ``text`` or ``phone_key`` can match."""
    filters: Query = {"tenant_id": tenant_id, **_LIVE}
    if query.source:
        filters["source"] = query.source
    if query.tag:
        filters["tags"] = query.tag
    alternatives: list[Query] = []
    if query.text:
        if clause := name_clause(query.text):
            alternatives.append(clause)
        lowered = query.text.strip().lower()
        alternatives.append({"emails": {"$regex": f"^{re.escape(lowered)}"}})
        alternatives.append({"external_id_folded": fold(query.text)})
    if query.phone_key:
        alternatives.append({"phone_key": query.phone_key})
        alternatives.append({"previous_phone_keys": query.phone_key})
    if alternatives:
        filters["$or"] = alternatives
    return filters
