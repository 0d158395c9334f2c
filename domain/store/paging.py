"""Keyset paging that every planner serves from an index: documents beyond a position (a time
and an ``_id``) in the order of a (…, time, _id) index.

MongoDB walks such an index in order and stops at the limit. Some planners (SecantusDB's)
use the index to find what a query matches but sort all of it in memory, so a query over a
tenant's whole history costs the whole history however small the page. The scan here
therefore reads a time window at a time: first the hour nearest the position, then windows
four times wider each, so a page costs a few small range queries on every planner, and the
end of the data is reached in a dozen windows at most.
"""

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from domain.documents import Query

#: The first window's width, and how much wider each next one is.
FIRST_WINDOW = timedelta(hours=1)
GROWTH = 4
#: Past this many windows (a hundred years and more) the last one is open-ended.
MAX_WINDOWS = 12
#: How far after now a time may lie (clocks differ) before the newest window ends.
FUTURE = timedelta(days=1)


async def scan(
    collection: AsyncCollection[Any],
    query: Query,
    field: str,
    position: tuple[datetime, str] | None,
    op: str = "$lt",
    *,
    batch: int = 200,
    fields: list[str] | None = None,
) -> AsyncGenerator[Any, None]:
    """The documents of ``query`` beyond ``position`` (``$lt``: older, newest first; ``$gt``:
    newer, oldest first), by ``field`` then ``_id``, read ``batch`` at a time and a window
    at a time as the caller consumes them; no position starts from the newest (or oldest).

    Only documents whose ``field`` holds a time are found; ``fields``: only these (and the
    position's) are read.
    """
    older = op == "$lt"
    reader = _Reader(collection, query, field, op, batch, fields)
    now = datetime.now(UTC)
    edge: datetime | None = None
    if position is not None:
        at, last = position
        async for document in reader.ties(at, last):
            yield document
        edge = at
    elif not older:
        edge = datetime(1970, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)
    width = FIRST_WINDOW
    for step in range(MAX_WINDOWS):
        last_window = step == MAX_WINDOWS - 1
        bounds: dict[str, Any] = {}
        if older:
            start = edge or now  # the newest window is open towards the future
            if edge is not None:
                bounds["$lt"] = edge
            lower = _shifted(start, -width)
            if lower is None:
                last_window = True  # before year 1: this window is open to the past
            if not last_window:
                bounds["$gte"] = lower
            next_edge = lower
        else:
            assert edge is not None
            bounds["$gt"] = edge
            next_edge = _shifted(edge, width)
            if next_edge is None or next_edge > now + FUTURE:
                last_window = True
            if not last_window:
                bounds["$lte"] = next_edge
        if not bounds:
            bounds["$type"] = "date"
        async for document in reader.window(bounds):
            yield document
        if last_window:
            return
        edge = next_edge
        width *= GROWTH


def _shifted(at: datetime, by: timedelta) -> datetime | None:
    """``at + by``, or None past the years a datetime holds (a position near year 1 or
    9999, which a client may ask for)."""
    try:
        return at + by
    except OverflowError:
        return None


class _Reader:
    """One scan's queries: a window's documents, or an instant's, ``batch`` at a time."""

    def __init__(
        self,
        collection: AsyncCollection[Any],
        query: Query,
        field: str,
        op: str,
        batch: int,
        fields: list[str] | None,
    ) -> None:
        self._collection = collection
        self._query = query
        self._field = field
        self._op = op
        self._batch = batch
        self._projection = dict.fromkeys([*fields, field], 1) if fields else None
        direction = 1 if op == "$gt" else -1
        self._order = [(field, direction), ("_id", direction)]

    async def window(self, bounds: dict[str, Any]) -> AsyncGenerator[Any, None]:
        """The documents whose time is within ``bounds``, in order."""
        while True:
            found = await self._read({self._field: bounds})
            for document in found:
                yield document
            if len(found) < self._batch:
                return
            at, last = found[-1][self._field], found[-1]["_id"]
            async for document in self.ties(at, last):
                yield document
            bounds = {**bounds, self._op: at}

    async def ties(self, at: datetime, last: str) -> AsyncGenerator[Any, None]:
        """The documents at the instant ``at`` beyond ``last``."""
        while True:
            found = await self._read({self._field: at, "_id": {self._op: last}})
            for document in found:
                yield document
            if len(found) < self._batch:
                return
            last = found[-1]["_id"]

    async def _read(self, condition: Query) -> list[Any]:
        cursor = self._collection.find({**self._query, **condition}, self._projection)
        return await cursor.sort(self._order).limit(self._batch).to_list()


async def beyond(
    collection: AsyncCollection[Any],
    query: Query,
    field: str,
    position: tuple[datetime, str],
    op: str,
    limit: int,
) -> list[Any]:
    """The ``limit`` documents of ``query`` nearest ``position`` on one side, by ``field``
    then ``_id``, without windows: for queries whose matches are few whatever the tenant's
    size (one thread's messages), where windows would only add round trips.

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


async def scanned(
    collection: AsyncCollection[Any],
    query: Query,
    field: str,
    position: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """The ``limit`` documents of ``query`` just older than ``position`` (or the newest),
    newest first, as ``scan`` reads them."""
    found: list[Any] = []
    if limit <= 0:
        return found
    async with aclosing(scan(collection, query, field, position, batch=limit)) as documents:
        async for document in documents:
            found.append(document)
            if len(found) >= limit:
                break
    return found
