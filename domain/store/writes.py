"""Writes every repository makes the same way."""

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


async def insert_missing(
    collection: AsyncCollection[Any], documents: Sequence[Mapping[str, Any]]
) -> set[str]:
    """Insert in one write each document whose ``_id`` is not stored yet (a redelivery, or a
    concurrent writer's); returns the ids that were already there."""
    if not documents:
        return set()
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if any(item.get("code") != DUPLICATE_KEY for item in errors):
            raise
        return {documents[item["index"]]["_id"] for item in errors}
    return set()
