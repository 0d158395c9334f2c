"""``message_edits``: edits and revokes, kept until (and after) their message arrives."""

from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import MessageEditDocument
from domain.store.writes import insert_missing

COLLECTION = "message_edits"


class MessageEdits:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[MessageEditDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("tenant_id", 1), ("channel", 1), ("target_provider_message_id", 1)]
        )

    async def keep(self, documents: list[MessageEditDocument]) -> None:
        """Store each edit once; one delivered again is already there."""
        await insert_missing(self._collection, documents)

    async def of_messages(
        self, tenant_id: str, channel: str, provider_message_ids: list[str]
    ) -> list[MessageEditDocument]:
        """Every edit of these messages, oldest first."""
        found = await self._collection.find(
            {
                "tenant_id": tenant_id,
                "channel": channel,
                "target_provider_message_id": {"$in": provider_message_ids},
            }
        ).to_list()
        return sorted(found, key=lambda edit: (edit["occurred_at"], edit["_id"]))
