"""``bookings``: the newest version of every booking."""

from typing import Any, cast

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import BookingDocument, BookingForAnalytics
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

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[BookingForAnalytics]:
        """The bookings a customer made as primary booker, with what analytics need."""
        found = self._collection.find(
            {"tenant_id": tenant_id, "customer_id": customer_id},
            {"status": 1, "currency": 1, "grand_total": 1, "created_at": 1, "guests": 1},
        )
        return cast("list[BookingForAnalytics]", await found.to_list())

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
