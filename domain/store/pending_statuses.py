"""``pending_statuses``: receipts that arrived before their message, kept until it does."""

from datetime import datetime
from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import Changes, PendingStatusDocument, StatusErrorDocument

COLLECTION = "pending_statuses"


class PendingStatuses:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[PendingStatusDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("tenant_id", 1), ("channel", 1), ("provider_message_id", 1)]
        )

    async def keep(
        self,
        event_id: str,
        tenant_id: str,
        channel: str,
        provider_message_id: str,
        status: str,
        occurred_at: datetime,
        error: StatusErrorDocument | None,
        details: Changes | None = None,
    ) -> None:
        try:
            await self._collection.insert_one(
                {
                    "_id": event_id,
                    "tenant_id": tenant_id,
                    "channel": channel,
                    "provider_message_id": provider_message_id,
                    "status": status,
                    "occurred_at": occurred_at,
                    "error": error,
                    "details": details or {},
                }
            )
        except DuplicateKeyError:
            return

    async def for_messages(
        self, tenant_id: str, channel: str, provider_message_ids: list[str]
    ) -> list[PendingStatusDocument]:
        return await self._collection.find(
            {
                "tenant_id": tenant_id,
                "channel": channel,
                "provider_message_id": {"$in": provider_message_ids},
            }
        ).to_list()
