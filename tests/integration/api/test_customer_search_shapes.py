"""The customer search, read one index-served query per way of matching and merged in
memory, lists exactly what the single ``$or`` query it replaces lists, in the same order,
with the same total, for every sort, filter and page."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.store.customers import SORTS, CustomerQuery, _search_filters
from domain.store.database import Store
from domain.store.search import external_id_fields, name_fields
from matchers.phones import phone_match_key as phone_key

pytestmark = pytest.mark.integration

NAMES = ["Ann Lee", "Anna Leeds", "Léa Martin", "Bob Annan", "Zoë Kerr", "Li Na", "Dan", "Ana"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def customer(n: int, rng: random.Random) -> dict[str, Any]:
    name = rng.choice(NAMES) + ("" if n % 3 else f" {n}")
    phone = f"+4479111{rng.randrange(20):05d}"
    return {
        "_id": f"c{n:03d}",
        "tenant_id": "acme",
        "name": name,
        **name_fields(name),
        **external_id_fields(f"EXT-{n % 7}" if n % 4 == 0 else None),
        "emails": [f"{name.split()[0].lower()}{n}@example.com"],
        "phone_key": phone_key(phone),
        "previous_phone_keys": [phone_key(f"+4479111{rng.randrange(20):05d}")]
        if n % 5 == 0
        else [],
        "source": rng.choice(["online", "dashboard"]),
        "tags": rng.sample(["vip", "family", "school"], rng.randrange(3)),
        "merged_into": "c000" if n % 11 == 10 else None,
        "created_at": T0 + timedelta(hours=rng.randrange(30)),
        "analytics": {
            "total_bookings": rng.randrange(4),
            "last_booking_at": None if n % 6 == 0 else T0 + timedelta(days=rng.randrange(9)),
        },
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_merged_branches_list_what_the_or_query_lists(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    await store.database["customers"].insert_many([customer(n, rng) for n in range(120)])
    texts = ["an", "a", "lee", "léa", "ANN", "ann1", "ext-3", "dan", "nobody", "zo"]
    queries = [CustomerQuery(text=t) for t in texts] + [
        CustomerQuery(phone_key=phone_key("+447911100003"), text="+447911100003"),
        CustomerQuery(text="an", source="online"),
        CustomerQuery(text="lee", tag="vip"),
    ]
    collection = store.database["customers"]
    for query in queries:
        for sort in SORTS:
            sorted_query = dataclasses.replace(query, sort=sort)
            filters = _search_filters("acme", sorted_query)
            expected = [d["_id"] async for d in collection.find(filters).sort(SORTS[sort])]
            listed: list[str] = []
            for skip in range(0, max(len(expected), 1), 7):
                page, total = await store.customers.search("acme", sorted_query, skip=skip, limit=7)
                assert total == len(expected), (query, sort)
                listed += [doc["_id"] for doc in page]
            assert listed == expected, (query, sort)
            exported = [
                doc["_id"] async for doc in store.customers.matching("acme", sorted_query, batch=5)
            ]
            assert exported == expected, (query, sort)
