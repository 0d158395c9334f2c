"""``consent_events``: every consent choice a person made, as received (the history)."""

from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import ConsentEventDocument
from domain.store.writes import insert_missing

COLLECTION = "consent_events"


class ConsentEvents:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[ConsentEventDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("tenant_id", 1), ("participant_keys", 1), ("occurred_at", 1)]
        )

    async def keep(self, documents: list[ConsentEventDocument]) -> None:
        """Store each choice once; one delivered again is already there."""
        await insert_missing(self._collection, documents)

    async def of_participants(self, tenant_id: str, keys: list[str]) -> list[ConsentEventDocument]:
        """Every choice made under any of ``keys`` (in any channel), oldest first."""
        if not keys:
            return []
        found = await self._collection.find(
            {"tenant_id": tenant_id, "participant_keys": {"$in": keys}}
        ).to_list()
        return sorted(found, key=lambda doc: (doc["occurred_at"], doc["_id"]))
