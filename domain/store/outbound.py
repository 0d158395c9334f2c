"""(v1.1) Replies being sent: ``idempotency_keys`` (a repeated request within 24 hours gets
the first answer), ``uploads`` (files staff attach, their bytes in the ``media_files``
bucket), and the sending state kept on each reply's message (``outbound``)."""

from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import MessageDocument, StatusErrorDocument
from domain.store.messages import COLLECTION as MESSAGES
from domain.store.messages import STATUS_RANK

#: How long an Idempotency-Key answers with its first answer.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyDocument(TypedDict):
    """``idempotency_keys``: ``_id`` is ``{tenant}:{key}``."""

    _id: str
    tenant_id: str
    body_hash: str
    message_id: str
    created_at: datetime


class UploadDocument(TypedDict):
    """``uploads``: a file staff uploaded for sending (its GridFS file has the same id)."""

    _id: str
    tenant_id: str
    filename: str
    mime_type: str
    kind: str
    size: int
    sha256: str
    created_at: datetime


class Outbound:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._keys = cast("AsyncCollection[IdempotencyDocument]", database["idempotency_keys"])
        self._uploads = cast("AsyncCollection[UploadDocument]", database["uploads"])
        self._messages = cast("AsyncCollection[MessageDocument]", database[MESSAGES])

    async def ensure_indexes(self) -> None:
        # MongoDB removes keys after the window; reads check the age too (servers without TTL).
        await self._keys.create_index(
            [("created_at", 1)], expireAfterSeconds=int(IDEMPOTENCY_WINDOW.total_seconds())
        )

    # --- idempotency -----------------------------------------------------------------------

    async def reserve(
        self, tenant_id: str, key: str, body_hash: str, message_id: str, now: datetime
    ) -> IdempotencyDocument:
        """The key's record: this request's when the key is new (or its first use is older
        than the window), else the first request's."""
        record: IdempotencyDocument = {
            "_id": f"{tenant_id}:{key}",
            "tenant_id": tenant_id,
            "body_hash": body_hash,
            "message_id": message_id,
            "created_at": now,
        }
        try:
            await self._keys.insert_one(record)
            return record
        except DuplicateKeyError:
            pass
        found = await self._keys.find_one({"_id": record["_id"]})
        if found is None:
            return await self.reserve(tenant_id, key, body_hash, message_id, now)
        created = found["created_at"].replace(tzinfo=UTC)
        if now - created < IDEMPOTENCY_WINDOW:
            return found
        replaced = await self._keys.find_one_and_update(
            {"_id": record["_id"], "created_at": found["created_at"]},
            {"$set": record},
            return_document=ReturnDocument.AFTER,
        )
        return replaced or await self.reserve(tenant_id, key, body_hash, message_id, now)

    # --- uploads ---------------------------------------------------------------------------

    async def add_upload(self, upload: UploadDocument) -> None:
        await self._uploads.insert_one(upload)

    async def upload(self, tenant_id: str, upload_id: str) -> UploadDocument | None:
        return await self._uploads.find_one({"_id": upload_id, "tenant_id": tenant_id})

    # --- a reply's sending -----------------------------------------------------------------

    async def insert(self, message: MessageDocument) -> bool:
        """Store the pending reply; False when it is stored already (a repeated request)."""
        try:
            await self._messages.insert_one(message)
        except DuplicateKeyError:
            return False
        return True

    async def published(self, message_id: str, attempt: int) -> None:
        await self._messages.update_one(
            {"_id": message_id, "outbound.attempt": attempt},
            {"$set": {"outbound.published": True}},
        )

    async def claim(self, message_id: str, attempt: int) -> bool:
        """Begin sending ``attempt``: True once, for the first worker to ask while the reply
        is pending at that attempt."""
        result = await self._messages.update_one(
            {
                "_id": message_id,
                "status": "pending",
                "outbound.attempt": attempt,
                "outbound.claimed": {"$ne": attempt},
            },
            {"$set": {"outbound.claimed": attempt}},
        )
        return result.modified_count == 1

    async def release(self, message_id: str, attempt: int) -> None:
        """``attempt`` is known not to have been sent (the provider refused it for now)."""
        await self._messages.update_one(
            {"_id": message_id, "outbound.attempt": attempt, "status": "pending"},
            {"$set": {"outbound.claimed": None}},
        )

    async def sent(
        self, message_id: str, attempt: int, provider_message_id: str, at: datetime
    ) -> MessageDocument | None:
        """The provider took ``attempt``: its id, and ``sent`` (receipts that came before the
        id was known are applied by the caller)."""
        return await self._messages.find_one_and_update(
            {"_id": message_id, "outbound.attempt": attempt},
            {
                "$set": {
                    "provider_message_id": provider_message_id,
                    "status": "sent",
                    "status_rank": STATUS_RANK["sent"],
                    "status_times.sent": at,
                    "outbound.sent_at": at,
                    "outbound.reason": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def failed(
        self, message_id: str, attempt: int, error: StatusErrorDocument, at: datetime
    ) -> None:
        await self._messages.update_one(
            {"_id": message_id, "outbound.attempt": attempt, "status": {"$in": ["pending"]}},
            {
                "$set": {
                    "status": "failed",
                    "status_rank": STATUS_RANK["failed"],
                    "status_error": error,
                    "status_times.failed": at,
                    "outbound.reason": error["title"],
                }
            },
        )

    async def unknown(self, message_id: str, attempt: int, reason: str) -> None:
        """Whether ``attempt`` was sent cannot be known: a receipt or echo settles it, or
        staff retry it."""
        await self._messages.update_one(
            {"_id": message_id, "outbound.attempt": attempt, "status": "pending"},
            {"$set": {"status": "unknown", "outbound.reason": reason}},
        )

    async def retry(self, tenant_id: str, message_id: str, at: datetime) -> MessageDocument | None:
        """A ``failed`` or ``unknown`` reply becomes pending at its next attempt."""
        return await self._messages.find_one_and_update(
            {
                "_id": message_id,
                "tenant_id": tenant_id,
                "direction": "outbound",
                "outbound": {"$exists": True},
                "status": {"$in": ["failed", "unknown"]},
            },
            {
                "$set": {
                    "status": "pending",
                    "status_rank": 0,
                    "outbound.claimed": None,
                    "outbound.published": False,
                    "outbound.requested_at": at,
                    "outbound.reason": None,
                },
                "$unset": {"status_error": ""},
                "$inc": {"outbound.attempt": 1},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def get(self, message_id: str) -> MessageDocument | None:
        return await self._messages.find_one({"_id": message_id})

    async def echoes_of(
        self, tenant_id: str, channel: str, provider_message_id: str
    ) -> list[MessageDocument]:
        """Messages the provider's echo of a reply stored beside it (not Threadline's)."""
        found = self._messages.find(
            {"tenant_id": tenant_id, "channel": channel, "provider_message_id": provider_message_id}
        )
        return [message async for message in found if "outbound" not in message]
