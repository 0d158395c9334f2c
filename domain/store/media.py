"""(v1.1) ``media``: each attachment's fetch (its state, attempts and next try), and
``media_files``, the GridFS bucket holding the files (written and read here in the layout of
the GridFS specification, so any GridFS tool reads them).

A file's id is its attachment's id, so a message's attachment is stored at most once however
often its events are delivered or its fetch is retried; a download cut short leaves chunks
without a file document, which the next attempt removes before it starts again.
"""

import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from bson import Binary
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts import CHUNK_BYTES
from domain.documents import MediaDocument
from domain.store.writes import insert_missing

COLLECTION = "media"
BUCKET = "media_files"


class Media:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[MediaDocument]", database[COLLECTION])
        self._files = database[f"{BUCKET}.files"]
        self._chunks = database[f"{BUCKET}.chunks"]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("state", 1), ("next_attempt_at", 1)])
        await self._collection.create_index([("message_id", 1)])
        # GridFS's own indexes, made here since chunks are also written without the bucket.
        await self._chunks.create_index([("files_id", 1), ("n", 1)], unique=True)
        await self._files.create_index([("filename", 1), ("uploadDate", 1)])

    async def register(self, documents: list[MediaDocument]) -> None:
        """Record attachments not recorded yet (a redelivery changes nothing)."""
        await insert_missing(self._collection, documents)

    async def get(self, attachment: str) -> MediaDocument | None:
        return await self._collection.find_one({"_id": attachment})

    async def of_messages(self, messages: list[str]) -> dict[str, MediaDocument]:
        """The recorded attachments of ``messages``, by attachment id."""
        if not messages:
            return {}
        found = self._collection.find(
            {"message_id": {"$in": messages}}, {"state": 1, "reason": 1, "message_id": 1}
        )
        return {doc["_id"]: doc async for doc in found}

    async def claim_due(self, now: datetime, lease_until: datetime) -> MediaDocument | None:
        """One pending fetch whose time has come, held until ``lease_until`` (a worker that
        dies meanwhile leaves it due again then)."""
        return await self._collection.find_one_and_update(
            {"state": "pending", "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": lease_until}, "$inc": {"attempts": 1}},
            sort=[("next_attempt_at", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def hold(self, attachment: str, until: datetime) -> None:
        """A running fetch keeps its claim."""
        await self._collection.update_one(
            {"_id": attachment, "state": "pending"}, {"$set": {"next_attempt_at": until}}
        )

    async def retry_at(self, attachment: str, at: datetime, reason: str) -> None:
        await self._collection.update_one(
            {"_id": attachment, "state": "pending"},
            {"$set": {"next_attempt_at": at, "reason": reason, "updated_at": _now()}},
        )

    async def unavailable(self, attachment: str, reason: str) -> None:
        await self._collection.update_one(
            {"_id": attachment, "state": "pending"},
            {
                "$set": {
                    "state": "unavailable",
                    "reason": reason,
                    "next_attempt_at": None,
                    "updated_at": _now(),
                }
            },
        )

    async def stored(self, attachment: str, file: dict[str, Any], defaults: MediaDocument) -> None:
        """The attachment's file is in the bucket; ``defaults`` records it if nothing has
        (an email's chunks may all arrive before its message)."""
        metadata = file.get("metadata") or {}
        fields = {
            "state": "stored",
            "reason": None,
            "next_attempt_at": None,
            "size": file["length"],
            "sha256": metadata.get("sha256"),
            "content_type": metadata.get("content_type"),
            "updated_at": _now(),
        }
        unset = {k: v for k, v in defaults.items() if k not in fields and k != "_id"}
        await self._collection.update_one(
            {"_id": attachment}, {"$set": fields, "$setOnInsert": unset}, upsert=True
        )

    # --- files ------------------------------------------------------------------------------

    async def file(self, attachment: str) -> dict[str, Any] | None:
        """The stored file's GridFS document, if the whole file is stored."""
        return await self._files.find_one({"_id": attachment})

    async def open_upload(self, attachment: str, filename: str | None) -> "Upload":
        """A new upload of the attachment's file, after removing what an interrupted one
        left (chunks without a file document)."""
        await self._chunks.delete_many({"files_id": attachment})
        return Upload(self._chunks, self._files, attachment, filename or attachment)

    async def put_chunk(self, attachment: str, part: int, data: bytes) -> int:
        """Write one chunk where it belongs (again is harmless); returns how many of the
        file's chunks are stored now."""
        await self._chunks.update_one(
            {"files_id": attachment, "n": part},
            {"$setOnInsert": {"data": Binary(data)}},
            upsert=True,
        )
        return await self._chunks.count_documents({"files_id": attachment})

    async def complete_from_chunks(
        self,
        attachment: str,
        *,
        size: int,
        sha256: str,
        filename: str | None,
        content_type: str | None,
    ) -> dict[str, Any] | None:
        """Write the file document over chunks written one by one, once they hold exactly
        ``size`` bytes hashing to ``sha256``; None when they do not."""
        digest = hashlib.sha256()
        length = 0
        async for chunk in self._chunks.find({"files_id": attachment}).sort([("n", 1)]):
            digest.update(chunk["data"])
            length += len(chunk["data"])
        if length != size or digest.hexdigest() != sha256:
            return None
        document = {
            "_id": attachment,
            "length": size,
            "chunkSize": CHUNK_BYTES,
            "uploadDate": _now(),
            "filename": filename or attachment,
            "metadata": {"content_type": content_type, "sha256": sha256},
        }
        with contextlib.suppress(DuplicateKeyError):  # completed by another delivery
            await self._files.insert_one(document)
        return await self.file(attachment)

    async def read(self, file: dict[str, Any], start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive) of a stored file, a chunk at a time, a few
        chunks per round trip (PyMongo's reader buffers far more)."""
        size = int(file["chunkSize"])
        first, last = start // size, end // size
        found = self._chunks.find(
            {"files_id": file["_id"], "n": {"$gte": first, "$lte": last}}, batch_size=4
        ).sort([("n", 1)])
        expected = first
        async for chunk in found:
            if chunk["n"] != expected:
                raise RuntimeError(f"chunk {expected} of {file['_id']} is missing")
            data = bytes(chunk["data"])
            offset = chunk["n"] * size
            yield data[max(start - offset, 0) : end - offset + 1]
            expected += 1


class Upload:
    """A file written to the bucket a chunk at a time, in the layout of the GridFS
    specification (PyMongo's own writer holds several times the file in memory meanwhile);
    the file document written last makes it visible."""

    def __init__(
        self,
        chunks: AsyncCollection[dict[str, Any]],
        files: AsyncCollection[dict[str, Any]],
        file_id: str,
        filename: str,
    ) -> None:
        self._chunks = chunks
        self._files = files
        self._id = file_id
        self._filename = filename
        self._pending = bytearray()
        self._written = 0
        self._parts = 0

    async def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            await self._flush(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    async def close(self, *, sha256: str, content_type: str | None) -> bool:
        """Write the last chunk and the file document; False when another worker's upload
        of the same file finished first."""
        if self._pending:
            await self._flush(bytes(self._pending))
            self._pending.clear()
        document = {
            "_id": self._id,
            "length": self._written,
            "chunkSize": CHUNK_BYTES,
            "uploadDate": _now(),
            "filename": self._filename,
            "metadata": {"content_type": content_type, "sha256": sha256},
        }
        try:
            await self._files.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def abort(self) -> None:
        await self._chunks.delete_many({"files_id": self._id})

    async def _flush(self, data: bytes) -> None:
        await self._chunks.update_one(
            {"files_id": self._id, "n": self._parts},
            {"$set": {"data": Binary(data)}},
            upsert=True,
        )
        self._parts += 1
        self._written += len(data)


def _now() -> datetime:
    return datetime.now(UTC)
