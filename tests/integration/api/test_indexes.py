"""The read API's hot queries are index-backed: every query they send has an index that
serves it (equality, then sort), and on MongoDB no plan scans the whole collection."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import TenantDirectory
from domain.store.customers import CustomerQuery
from domain.store.database import Store
from ingest.api.cursors import Cursors
from ingest.api.inbox import ThreadFilters, list_threads
from tests.factories import booking_event, message_event
from tests.integration.recording import CommandRecorder

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
_EXPLAINABLE = {"find", "aggregate", "count", "distinct"}


def stages(plan: dict[str, Any]) -> list[str]:
    found = [plan.get("stage", "")]
    for key in ("inputStage", "queryPlan"):
        if isinstance(plan.get(key), dict):
            found += stages(plan[key])
    for child in plan.get("inputStages", []):
        found += stages(child)
    return found


_POINT = {"$eq", "$in", "$all"}


def served(keys: list[str], query: dict[str, Any], sort: list[str]) -> bool:
    """Whether an index on ``keys`` serves ``query`` the way MongoDB plans it: equality
    fields first (at least one), then the sort keys in order (or, unsorted, a range field),
    so the scan reads only matching entries and needs no in-memory sort."""
    points = {
        field
        for field, value in query.items()
        if not field.startswith("$")
        and value is not None
        and (not isinstance(value, dict) or set(value) <= _POINT)
    }
    ranges = {f for f, v in query.items() if isinstance(v, dict) and not set(v) <= _POINT}
    position = 0
    while position < len(keys) and keys[position] in points:
        position += 1
    if position == 0:
        return False
    if keys == ["_id"]:
        return True  # a lookup by id reads one entry per id, whatever else is asked
    rest = keys[position:]
    wanted = [field for field in sort if field not in points]
    if wanted:
        return rest[: len(wanted)] == wanted
    return points <= set(keys[:position]) or bool(rest and rest[0] in ranges)


def shapes(command: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(collection, filter, sort keys) of a command, one per ``$or`` branch."""
    if "find" in command:
        collection, query = command["find"], command.get("filter", {})
        sort = list(command.get("sort", {}))
    else:
        collection, query, sort = command["aggregate"], command["pipeline"][0]["$match"], []
    branches = query.get("$or")
    outer = {k: v for k, v in query.items() if k != "$or"}
    if not branches:
        return [(collection, outer, sort)]
    return [(collection, {**outer, **branch}, sort) for branch in branches]


async def test_hot_read_queries_use_indexes(
    recorded: tuple[Store, CommandRecorder], tenants: TenantDirectory
) -> None:
    """Thread list (first and later pages, also searched), message pages, customer search
    by every kind of term and every sort, communications and message search (first and later
    pages): each query (each $or branch) has an index."""
    store, recorder = recorded
    bookings, messages = BookingsHandler(store, tenants), MessagesHandler(store, tenants)
    for n in range(12):
        await bookings.handle(
            booking_event(booking_id=f"b-{n}", name=f"Person {n}", emails=[f"p{n}@example.com"])
        )
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.{n}.{m}",
                    channel_user_id=f"4479111000{n:02d}",
                    phone=f"+4479111000{n:02d}",
                    occurred_at=T0 + timedelta(minutes=n, seconds=m),
                )
                for m in range(3)
            ]
        )
    # Other tenants' data, so that scanning would cost more than any index.
    await store.database["messages"].insert_many(
        [
            {
                "_id": f"filler-{n}",
                "tenant_id": "globex",
                "thread_id": f"t{n % 50}",
                "occurred_at": T0,
                "stored_at": T0,
                "direction": "inbound",
            }
            for n in range(3000)
        ]
    )
    await store.database["threads"].insert_many(
        [
            {
                "_id": f"t{n}",
                "tenant_id": "globex",
                "channel": "sms",
                "last_message_at": T0,
                "summary_at": T0,
                "unread_count": 1,
            }
            for n in range(1000)
        ]
    )
    await store.database["customers"].insert_many(
        [
            {
                "_id": f"c{n}",
                "tenant_id": "globex",
                "merged_into": None,
                "search_name": "x",
                "search_grams": ["per"],
                "emails": [f"p{n}@x.com"],
                "created_at": T0,
            }
            for n in range(1000)
        ]
    )
    first_thread = await store.database["threads"].find_one({"tenant_id": "acme"})
    assert first_thread is not None
    thread = first_thread["_id"]
    recorder.recording = True
    codec = Cursors(b"test")
    listing = ThreadFilters()
    _, cursor = await list_threads(store, "acme", listing, limit=5, cursor=None, cursors=codec)
    await list_threads(store, "acme", listing, limit=5, cursor=cursor, cursors=codec)
    unread = ThreadFilters(channel="whatsapp", unread=True)
    await list_threads(store, "acme", unread, limit=5, cursor=None, cursors=codec)
    for searched in (ThreadFilters(words=("hello",)), ThreadFilters(words=("hello", "x"))):
        _, cursor = await list_threads(store, "acme", searched, limit=2, cursor=None, cursors=codec)
        await list_threads(store, "acme", searched, limit=2, cursor=cursor, cursors=codec)
    labelled = ThreadFilters(label="vip", status="open", assignee="none")
    _, cursor = await list_threads(store, "acme", labelled, limit=2, cursor=None, cursors=codec)
    await list_threads(store, "acme", labelled, limit=2, cursor=cursor, cursors=codec)
    by_phone = ThreadFilters(phone="+447911100003")
    await list_threads(store, "acme", by_phone, limit=2, cursor=None, cursors=codec)
    newest = await store.messages.page(thread, before=None, after=None, limit=2)
    position = (newest[0]["occurred_at"], newest[0]["_id"])
    await store.messages.page(thread, before=position, after=None, limit=2)
    await store.messages.exists_beyond(thread, position, "$lt")
    for text, phone_key in [("pers", None), ("p3@example.com", None), ("x", "+447911100003")]:
        await store.customers.search(
            "acme", CustomerQuery(text=text, phone_key=phone_key), skip=0, limit=50
        )
    for sort in ("name", "-total_bookings", "-last_booking_at", "-created_at"):
        await store.customers.search("acme", CustomerQuery(sort=sort), skip=0, limit=50)
    first_customer = await store.database["customers"].find_one({"tenant_id": "acme"})
    assert first_customer is not None
    customer = first_customer["_id"]
    await store.messages.of_customer("acme", customer, skip=0, limit=50)
    found = [m async for m in store.messages.searching("acme", ["hello"], below=None)]
    below = (found[1]["occurred_at"], found[1]["_id"])
    assert [m async for m in store.messages.searching("acme", ["hello"], below=below)]
    recorder.recording = False
    commands = [command for name, command in recorder.commands if name in _EXPLAINABLE]
    assert len(commands) >= 15
    indexes = {
        name: [list(spec["key"]) async for spec in await store.database[name].list_indexes()]
        for name in ("threads", "messages", "customers")
    }
    unserved = [
        (collection, query, sort)
        for command in commands
        for collection, query, sort in shapes(command)
        if not any(served(keys, query, sort) for keys in indexes[collection])
    ]
    assert not unserved, unserved
    scans = []
    for command in commands:
        explained = await store.database.command("explain", command, verbosity="queryPlanner")
        if explained.get("serverInfo", {}).get("host") == "secantus":
            # SecantusDB's planner scans for any $or or any filter field outside the index;
            # only MongoDB's own plans say something here.
            continue
        plan = explained.get("queryPlanner", {}).get("winningPlan") or explained
        if "COLLSCAN" in stages(plan):
            scans.append(command)
    assert not scans, scans
