"""Property: whatever the interleaving of messages, statuses and duplicates, a thread's summary
equals a recomputation from its stored messages, and statuses end at the furthest state."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from consumers.messages import MessagesHandler
from consumers.statuses import StatusesHandler
from contracts import MessageEvent, Settings, StatusEvent, TenantDirectory
from domain.store.database import Store
from domain.store.messages import STATUS_RANK
from tests.factories import message_event, status_event

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PEOPLE = [("447911123456", "+447911123456"), ("447912345678", "+447912345678")]

message_strategy = st.tuples(
    st.integers(min_value=0, max_value=1),  # who
    st.sampled_from(["inbound", "outbound"]),
    st.integers(min_value=0, max_value=10_000),  # seconds after T0
    st.lists(st.sampled_from(["sent", "delivered", "read", "failed"]), max_size=3),
)


def final_status(statuses: list[str]) -> str:
    if "failed" in statuses:
        return "failed"
    return max(["sent", *statuses], key=lambda status: STATUS_RANK[status])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(message_strategy, min_size=1, max_size=12),
    duplicates=st.integers(min_value=0, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32),
    batch=st.integers(min_value=1, max_value=5),
)
async def test_summary_equals_recomputation(
    specs: list[Any],
    duplicates: int,
    seed: int,
    batch: int,
    settings: Settings,
    tenants: TenantDirectory,
) -> None:
    """Messages in random batches beside their receipts: summaries and statuses come out right."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    store = Store.open(client, f"prop_{uuid.uuid4().hex[:12]}")
    try:
        await store.ensure_indexes()
        messages, receipts = MessagesHandler(store, tenants), StatusesHandler(store, tenants)
        events: list[MessageEvent] = []
        statuses: list[StatusEvent] = []
        expected_status: dict[str, str] = {}
        for index, (who, direction, seconds, states) in enumerate(specs):
            wa_id, phone = PEOPLE[who]
            mid = f"wamid.{index}"
            events.append(
                message_event(
                    provider_message_id=mid,
                    direction=direction,
                    channel_user_id=wa_id,
                    phone=phone,
                    occurred_at=T0 + timedelta(seconds=seconds),
                    text=f"m{index}",
                )
            )
            if direction == "outbound":
                expected_status[mid] = final_status(states)
                statuses += [
                    status_event(provider_message_id=mid, status=s, channel_user_id=wa_id)
                    for s in states
                ]
        shuffle = random.Random(seed)
        stream = events + [shuffle.choice(events) for _ in range(duplicates)]
        shuffle.shuffle(stream)
        shuffle.shuffle(statuses)

        async def feed_messages() -> None:
            for start in range(0, len(stream), batch):
                await messages.handle_batch(stream[start : start + batch])

        async def feed_statuses() -> None:
            for status in statuses:
                await receipts.handle(status)

        await asyncio.gather(feed_messages(), feed_statuses())

        threads = await store.database["threads"].find({}).to_list()
        assert len(threads) == len({spec[0] for spec in specs})
        for thread in threads:
            stored = await store.database["messages"].find({"thread_id": thread["_id"]}).to_list()
            last = max(stored, key=lambda m: (m["occurred_at"], m["_id"]))
            assert thread["message_count"] == len(stored)
            assert thread["unread_count"] == sum(m["direction"] == "inbound" for m in stored)
            assert thread["last_message_at"] == last["occurred_at"]
            assert thread["last_message"]["message_id"] == last["_id"]
        assert await store.database["messages"].count_documents({}) == len(events)
        for mid, status in expected_status.items():
            message = await store.database["messages"].find_one({"provider_message_id": mid})
            assert message is not None
            assert message["status"] == status, mid
    finally:
        await client.drop_database(store.database.name)
        await client.close()
