"""The windowed keyset scan reads exactly what one sorted query would, in order, from any
position and either way, whatever the spread of times (ties, gaps of years, the future)."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.store.database import Store
from domain.store.paging import scan, scanned

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def spread(rng: random.Random) -> list[datetime]:
    """Times as a tenant's history has them: bursts at one instant, a busy last hour, sparse
    years, and a clock running ahead."""
    times = [NOW - timedelta(seconds=rng.randint(0, 3600)) for _ in range(40)]
    times += [NOW - timedelta(days=rng.randint(1, 3000)) for _ in range(40)]
    times += [NOW + timedelta(hours=rng.randint(1, 20)) for _ in range(5)]
    times += [datetime(1971, 1, 1, tzinfo=UTC)] * 3
    times += [NOW - timedelta(minutes=5)] * 12  # one instant, many documents
    return times


async def test_every_position_either_way_matches_one_sorted_query(store: Store) -> None:
    rng = random.Random(7)
    collection = store.database["paging_check"]
    documents: list[dict[str, Any]] = [
        {"_id": f"d{n:03d}", "tenant_id": "acme", "at": at} for n, at in enumerate(spread(rng))
    ]
    documents.append({"_id": "no-time", "tenant_id": "acme", "at": None})
    documents.append({"_id": "theirs", "tenant_id": "globex", "at": NOW})
    await collection.insert_many(documents)
    timed = [d for d in documents if d["tenant_id"] == "acme" and d["at"] is not None]
    newest = sorted(timed, key=lambda d: (d["at"], d["_id"]), reverse=True)
    query = {"tenant_id": "acme"}

    everything = [d["_id"] async for d in scan(collection, query, "at", None, batch=3)]
    assert everything == [d["_id"] for d in newest]
    for index in rng.sample(range(len(newest)), 15):
        position = (newest[index]["at"], newest[index]["_id"])
        older = [d["_id"] async for d in scan(collection, query, "at", position, batch=4)]
        assert older == [d["_id"] for d in newest[index + 1 :]]
        newer = [d["_id"] async for d in scan(collection, query, "at", position, "$gt", batch=4)]
        assert newer == [d["_id"] for d in reversed(newest[:index])]
        page = await scanned(collection, query, "at", position, 5)
        assert [d["_id"] for d in page] == [d["_id"] for d in newest[index + 1 : index + 6]]


async def test_positions_at_the_ends_of_the_calendar_read_without_overflowing(
    store: Store,
) -> None:
    """A client may ask for messages until year 161 or since year 8176: the windows stop
    at the ends of what a datetime holds instead of failing."""
    collection = store.database["paging_ends"]
    times = [datetime(150, 1, 1, tzinfo=UTC), NOW, datetime(9000, 1, 1, tzinfo=UTC)]
    await collection.insert_many(
        [{"_id": f"e{n}", "tenant_id": "acme", "at": at} for n, at in enumerate(times)]
    )
    query = {"tenant_id": "acme"}
    early = (datetime(161, 3, 14, tzinfo=UTC), "")
    older = [d["_id"] async for d in scan(collection, query, "at", early)]
    assert older == ["e0"]
    late = (datetime(8176, 8, 17, tzinfo=UTC), "")
    newer = [d["_id"] async for d in scan(collection, query, "at", late, "$gt")]
    assert newer == ["e2"]
