"""What the consumers ask of the database: a poll costs the same commands however many new
participants it carries, and every filter they send names only fields one index holds.

Counts and query shapes, not times: a planner that scans for a filter field outside the index
(SecantusDB does) makes such a query cost the whole collection, once per participant.
"""

from collections import Counter
from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from consumers.statuses import StatusesHandler
from contracts import TenantDirectory
from domain.store.database import Store
from tests.factories import booking_event, message_event, status_event
from tests.integration.recording import CommandRecorder

pytestmark = pytest.mark.integration


def _newcomers(first: int, count: int) -> list[Any]:
    return [
        message_event(
            provider_message_id=f"wamid.new.{n}",
            channel_user_id=f"4479115{n:05d}",
            phone=f"+4479115{n:05d}",
        )
        for n in range(first, first + count)
    ]


async def test_a_poll_of_new_participants_costs_the_same_however_many(
    recorded: tuple[Store, CommandRecorder], tenants: TenantDirectory
) -> None:
    """Ten and then 150 first messages of people no thread or customer knows: the same
    commands for both polls (threads created, customers looked up, messages inserted and
    summaries written together), where a command or more per participant would show."""
    store, recorder = recorded
    bookings, messages = BookingsHandler(store, tenants), MessagesHandler(store, tenants)
    for n in range(20):
        await bookings.handle(
            booking_event(booking_id=f"b-{n}", emails=[f"p{n}@example.com"], phone=None)
        )
    counts = []
    for first, count in ((0, 10), (10, 150)):
        recorder.commands.clear()
        recorder.recording = True
        await messages.handle_batch(_newcomers(first, count))
        recorder.recording = False
        counts.append(Counter(name for name, _ in recorder.commands))
    assert await store.database["threads"].count_documents({}) == 160
    assert counts[0] == counts[1], counts


async def test_a_poll_of_known_customers_messages_costs_the_same_however_many(
    recorded: tuple[Store, CommandRecorder], tenants: TenantDirectory
) -> None:
    """Ten and then 150 first messages of people with a profile: each message is linked and
    its customer's last contact moved, in the same commands for both polls (the last
    contacts in one write, not one per message)."""
    store, recorder = recorded
    bookings, messages = BookingsHandler(store, tenants), MessagesHandler(store, tenants)
    for n in range(160):
        await bookings.handle(
            booking_event(booking_id=f"k-{n}", emails=[], phone=f"+4479116{n:05d}", name=f"P{n}")
        )
    known = [
        message_event(
            provider_message_id=f"wamid.known.{n}",
            channel_user_id=f"4479116{n:05d}",
            phone=f"+4479116{n:05d}",
        )
        for n in range(160)
    ]
    counts = []
    for first, count in ((0, 10), (10, 150)):
        recorder.commands.clear()
        recorder.recording = True
        await messages.handle_batch(known[first : first + count])
        recorder.recording = False
        counts.append(Counter(name for name, _ in recorder.commands))
    linked = await store.database["messages"].count_documents({"customer_id": {"$ne": None}})
    assert linked == 160
    touched = await store.database["customers"].count_documents(
        {"analytics.last_contact_at": {"$ne": None}}
    )
    assert touched == 160
    assert counts[0] == counts[1], counts


def _filters(name: str, command: dict[str, Any]) -> list[dict[str, Any]]:
    """The filters a command selects documents by."""
    match name:
        case "find" | "count" | "distinct":
            return [command.get("filter") or command.get("query") or {}]
        case "findAndModify":
            return [command.get("query", {})]
        case "update":
            return [update["q"] for update in command["updates"]]
        case "delete":
            return [delete["q"] for delete in command["deletes"]]
        case "aggregate":
            match = command["pipeline"][0].get("$match") if command["pipeline"] else None
            return [match] if match is not None else []
    return []


def _fields(query: dict[str, Any]) -> set[str]:
    fields: set[str] = set()
    for field, value in query.items():
        if field in ("$and", "$or", "$nor"):
            for branch in value:
                fields |= _fields(branch)
        else:
            fields.add(field)
    return fields


async def test_consumer_filters_name_only_fields_of_one_index(
    recorded: tuple[Store, CommandRecorder], tenants: TenantDirectory
) -> None:
    """Bookings (a new customer, a returning one, guests, a cancellation), messages (new,
    linked by phone, by reference, by email), receipts: each filter is served by the primary
    key, or names exactly the leading fields of one index, and no ``$or``."""
    store, recorder = recorded
    bookings = BookingsHandler(store, tenants)
    messages = MessagesHandler(store, tenants)
    statuses = StatusesHandler(store, tenants)
    recorder.recording = True
    await bookings.handle(
        booking_event(
            booking_id="b-1",
            emails=["ann@example.com"],
            phone="+447911123456",
            guests=[{"name": "Bo Lee", "email": "bo@example.com"}],
        )
    )
    await bookings.handle(booking_event(booking_id="b-2", emails=["ann@example.com"]))
    await bookings.handle(booking_event(booking_id="b-2", version=2, status="cancelled"))
    await messages.handle_batch(
        [
            message_event(provider_message_id="wamid.a"),
            message_event(
                provider_message_id="wamid.b", channel_user_id="447911000999", phone=None
            ),
            message_event(
                provider_message_id="wamid.c",
                channel_user_id="447911000998",
                phone="+447911000998",
                references=["b-1"],
            ),
            message_event(
                provider_message_id="m.d",
                channel="email",
                channel_user_id="bo@example.com",
                phone=None,
                email="bo@example.com",
                provider="postmark",
            ),
            message_event(
                provider_message_id="wamid.out",
                direction="outbound",
                channel_user_id="447911000997",
            ),
        ]
    )
    await statuses.handle(status_event(provider_message_id="wamid.out", status="delivered"))
    recorder.recording = False
    indexes = {
        name: [list(spec["key"]) async for spec in await store.database[name].list_indexes()]
        for name in await store.database.list_collection_names()
    }
    unserved = []
    for name, command in recorder.commands:
        collection = str(command.get(name))
        for query in _filters(name, command):
            if not query or "_id" in query:
                continue
            fields = _fields(query)
            held = any(fields == set(keys[: len(fields)]) for keys in indexes.get(collection, []))
            if "$or" in query or not held:
                unserved.append((name, collection, query))
    assert len(recorder.commands) > 30
    assert not unserved, "\n".join(map(repr, unserved))
