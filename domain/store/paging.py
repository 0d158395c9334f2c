"""Keyset paging that every planner serves from an index: the next ``limit`` documents beyond
a position (a time and an ``_id``) in the order of a (…, time, _id) index."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from domain.documents import Query


async def beyond(
    collection: AsyncCollection[Any],
    query: Query,
    field: str,
    position: tuple[datetime, str],
    op: str,
    limit: int,
) -> list[Any]:
    """The ``limit`` documents of ``query`` nearest ``position`` on one side (``$lt``: older,
    newest first; ``$gt``: newer, oldest first), by ``field`` then ``_id``.

    Two single-range scans (the same instant, then strictly beyond) rather than one ``$or``,
    which some planners answer with a collection scan.
    """
    at, last = position
    direction = 1 if op == "$gt" else -1
    order = [(field, direction), ("_id", direction)]
    ties = await (
        collection.find({**query, field: at, "_id": {op: last}}).sort(order).limit(limit).to_list()
    )
    if len(ties) >= limit:
        return ties
    rest = await (
        collection.find({**query, field: {op: at}}).sort(order).limit(limit - len(ties)).to_list()
    )
    return ties + rest
