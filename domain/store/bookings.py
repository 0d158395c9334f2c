"""``bookings``: the newest version of every booking."""

from typing import Any, cast

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import BookingDocument, BookingForAnalytics
from domain.store.writes import insert_missing
from matchers import keys

COLLECTION = "bookings"


class Bookings:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[BookingDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("tenant_id", 1), ("customer_id", 1), ("starts_at", -1), ("_id", -1)]
        )
        await self._collection.create_index(
            [("tenant_id", 1), ("guests.customer_id", 1), ("starts_at", -1), ("_id", -1)]
        )
        await self._collection.create_index([("tenant_id", 1), ("confirmation_code", 1)])

    async def upsert_if_newer(self, document: BookingDocument) -> tuple[bool, str | None]:
        """Store ``document`` unless a version at least as new is stored.

        Returns whether it was stored and the customer the booking belonged to before.
        """
        try:
            before = await self._collection.find_one_and_update(
                {"_id": document["_id"], "version": {"$lt": document["version"]}},
                {"$set": document},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
                projection={"customer_id": 1},
            )
        except DuplicateKeyError:
            return False, None  # the stored version is the same or newer
        return True, before["customer_id"] if before else None

    async def upsert_many_if_newer(self, documents: list[BookingDocument]) -> dict[str, str | None]:
        """``upsert_if_newer`` for a poll's documents in one read, one insert of the new
        bookings and one write of the newer versions: of several versions of one booking the
        newest stands. Returns the bookings stored, each with the customer it belonged to
        before (None for a new booking)."""
        newest: dict[str, BookingDocument] = {}
        for document in documents:
            kept = newest.get(document["_id"])
            if kept is None or document["version"] > kept["version"]:
                newest[document["_id"]] = document
        stored = {
            doc["_id"]: doc
            async for doc in self._collection.find(
                {"_id": {"$in": sorted(newest)}}, {"version": 1, "customer_id": 1}
            )
        }
        writes = {
            booking: document
            for booking, document in sorted(newest.items())
            if booking not in stored or stored[booking]["version"] < document["version"]
        }
        if not writes:
            return {}
        # New bookings inserted (cheaper than an upsert); newer versions replace older ones.
        refused = await insert_missing(
            self._collection, [document for b, document in writes.items() if b not in stored]
        )
        newer = [(b, document) for b, document in writes.items() if b in stored]
        if newer:
            # One a writer replaced meanwhile with the same or a newer version is left as it is
            # (and counted as stored: its previous customer is refreshed, which is harmless).
            await self._collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": b, "version": {"$lt": document["version"]}}, {"$set": document}
                    )
                    for b, document in newer
                ],
                ordered=False,
            )
        return {
            booking: stored[booking]["customer_id"] if booking in stored else None
            for booking in writes
            if booking not in refused
        }

    async def reassign(self, booking: str, source: str, target: str) -> bool:
        """Give the booking ``booking`` to ``target`` if ``source`` still has it."""
        result = await self._collection.update_one(
            {"_id": booking, "customer_id": source}, {"$set": {"customer_id": target}}
        )
        return result.modified_count == 1

    async def get(self, tenant_id: str, booking_id: str) -> BookingDocument | None:
        return await self._collection.find_one({"_id": keys.booking_id(tenant_id, booking_id)})

    async def customers_by_codes(self, tenant_id: str, codes: list[str]) -> list[str]:
        """The primary bookers of the bookings with these confirmation codes."""
        cursor = self._collection.find(
            {"tenant_id": tenant_id, "confirmation_code": {"$in": codes}}, {"customer_id": 1}
        )
        return [customer async for doc in cursor if (customer := doc["customer_id"])]

    async def consents_of_customer(self, tenant_id: str, customer_id: str) -> list[BookingDocument]:
        """The customer's bookings as primary booker, with the consents their forms gave."""
        found = self._collection.find(
            {"tenant_id": tenant_id, "customer_id": customer_id},
            {"booking_id": 1, "customer.consents": 1},
        )
        return await found.to_list()

    async def of_customers(
        self, tenant_id: str, customer_ids: list[str]
    ) -> dict[str, list[BookingForAnalytics]]:
        """``of_customer`` for several customers in one read."""
        found = self._collection.find(
            {"tenant_id": tenant_id, "customer_id": {"$in": customer_ids}},
            {
                "customer_id": 1,
                "status": 1,
                "currency": 1,
                "grand_total": 1,
                "created_at": 1,
                "guests": 1,
            },
        )
        by_customer: dict[str, list[BookingForAnalytics]] = {}
        async for doc in found:
            by_customer.setdefault(doc["customer_id"] or "", []).append(
                cast("BookingForAnalytics", doc)
            )
        return by_customer

    async def page(
        self, tenant_id: str, *, customer_id: str, as_guest: bool, skip: int, limit: int
    ) -> tuple[list[BookingDocument], int]:
        """A customer's bookings (as primary booker, or as a named guest), latest start first,
        and how many there are."""
        field = "guests.customer_id" if as_guest else "customer_id"
        query = {"tenant_id": tenant_id, field: customer_id}
        cursor = (
            self._collection.find(query)
            .sort([("starts_at", -1), ("_id", -1)])
            .skip(skip)
            .limit(limit)
        )
        return await cursor.to_list(), await self._collection.count_documents(query)

    async def primary_bookers_of_guest(self, tenant_id: str, customer_id: str) -> list[str]:
        """Who booked for this customer: their known customers mention it."""
        values = await self._collection.distinct(
            "customer_id", {"tenant_id": tenant_id, "guests.customer_id": customer_id}
        )
        return [value for value in values if value]

    async def move_customer(self, tenant_id: str, source: str, target: str | None) -> None:
        """Move ``source``'s bookings, as booker and as guest, to ``target`` (None: nobody;
        each booking keeps its snapshot of the customer)."""
        await self._collection.update_many(
            {"tenant_id": tenant_id, "customer_id": source}, {"$set": {"customer_id": target}}
        )
        await self._collection.update_many(
            {"tenant_id": tenant_id, "guests.customer_id": source},
            {"$set": {"guests.$[guest].customer_id": target}},
            array_filters=[{"guest.customer_id": source}],
        )
