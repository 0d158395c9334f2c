"""``bookings``: the newest version of every booking, and the figures derived from them."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COLLECTION = "bookings"


def booking_key(tenant_id: str, booking_id: str) -> str:
    return f"{tenant_id}:{booking_id}"


class Bookings:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = database[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("tenant_id", 1), ("customer_id", 1)])
        await self._collection.create_index([("tenant_id", 1), ("guests.customer_id", 1)])
        await self._collection.create_index([("tenant_id", 1), ("confirmation_code", 1)])

    async def upsert_if_newer(self, document: dict[str, Any]) -> tuple[bool, str | None]:
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

    async def get(self, tenant_id: str, booking_id: str) -> dict[str, Any] | None:
        return await self._collection.find_one({"_id": booking_key(tenant_id, booking_id)})

    async def figures(
        self, tenant_id: str, customer_id: str, counted_statuses: list[str]
    ) -> dict[str, Any]:
        """Analytics of a primary booker, computed from the stored bookings."""
        rows = await (
            await self._collection.aggregate(
                [
                    {
                        "$match": {
                            "tenant_id": tenant_id,
                            "customer_id": customer_id,
                            "status": {"$in": counted_statuses},
                        }
                    },
                    {
                        "$group": {
                            "_id": "$currency",
                            "amount": {"$sum": "$grand_total"},
                            "count": {"$sum": 1},
                            "last": {"$max": "$created_at"},
                        }
                    },
                ]
            )
        ).to_list()
        spent = [
            {"currency": row["_id"], "amount": _decimal128(row["amount"])}
            for row in sorted(rows, key=lambda row: str(row["_id"]))
        ]
        last: datetime | None = max((row["last"] for row in rows), default=None)
        return {
            "total_bookings": sum(int(row["count"]) for row in rows),
            "total_spent": spent,
            "lifetime_value": spent,
            "last_booking_at": last,
        }

    async def guests_of(self, tenant_id: str, customer_id: str) -> list[dict[str, Any]]:
        """Everyone a customer booked for, once each, in the order first booked."""
        cursor = self._collection.find(
            {"tenant_id": tenant_id, "customer_id": customer_id, "guests.0": {"$exists": True}},
            {"guests": 1, "created_at": 1},
        ).sort([("created_at", 1), ("_id", 1)])
        people: dict[str, dict[str, Any]] = {}
        async for booking in cursor:
            for guest in booking["guests"]:
                if guest.get("customer_id") == customer_id:
                    continue
                key = guest.get("customer_id") or f"name:{guest.get('name', '').casefold()}"
                people.setdefault(
                    key,
                    {
                        "customer_id": guest.get("customer_id"),
                        "name": guest.get("name"),
                        "email": guest.get("email"),
                        "phone": guest.get("phone"),
                    },
                )
        return list(people.values())


def _decimal128(value: Any) -> Decimal128:
    if isinstance(value, Decimal128):
        return value
    return Decimal128(Decimal(str(value)))
