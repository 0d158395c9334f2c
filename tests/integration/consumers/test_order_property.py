"""Property (v1.1): the bookings and messages topics are consumed independently, so their
events meet the consumers in any interleaving; the final links, ``matched_by`` and analytics
are the same in every one of them as when every booking came first.

Each conversation's messages keep their order (they share a partition); everything else is
shuffled. The people have identifiers of their own (no shared phone), and a conversation's
reference, where it has one, is in its first message: the cases docs/identity.md names as
order independent.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import BookingEvent, MessageEvent, Settings, TenantDirectory
from domain.store.database import Store
from tests.factories import booking_event, confirmation_code, message_event

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)

BOOKINGS = [
    booking_event(
        booking_id="b-ann", name="Ann", emails=["ann@example.com"], phone="+447911000101"
    ),
    booking_event(booking_id="b-bob", name="Bob", emails=[], phone="+447911000102"),
    booking_event(booking_id="b-cara", name="Cara", emails=["cara@example.com"], phone=None),
    booking_event(
        booking_id="b-ann-2",
        version=1,
        name="Ann",
        emails=["ann@example.com"],
        created_at=datetime(2026, 6, 1, tzinfo=UTC),
    ),
]


def _whatsapp(mid: str, phone: str, minutes: int, **kwargs: Any) -> MessageEvent:
    return message_event(
        provider_message_id=mid,
        channel_user_id=phone[1:],
        phone=phone,
        occurred_at=T0 + timedelta(minutes=minutes),
        **kwargs,
    )


#: Conversations, each a list of messages in its own order.
CONVERSATIONS: list[list[MessageEvent]] = [
    # Ann by phone, twice.
    [_whatsapp("wamid.a1", "+447911000101", 1), _whatsapp("wamid.a2", "+447911000101", 5)],
    # Bob's phone, but the first message names Cara's booking: the reference outranks it.
    [
        message_event(
            provider_message_id="SM-b1",
            channel="sms",
            provider="twilio",
            channel_user_id="+447911000102",
            phone="+447911000102",
            text=f"Booking {confirmation_code('b-cara')} please",
            references=[confirmation_code("b-cara")],
            occurred_at=T0 + timedelta(minutes=2),
        )
    ],
    # Cara by email.
    [
        message_event(
            provider_message_id="<c1@example.com>",
            channel="email",
            provider="postmark",
            channel_user_id="cara@example.com",
            phone=None,
            email="cara@example.com",
            occurred_at=T0 + timedelta(minutes=3),
        )
    ],
    # Someone unknown, naming Bob's booking; then again.
    [
        _whatsapp(
            "wamid.u1",
            "+447911000199",
            4,
            references=[confirmation_code("b-bob")],
            text=f"About {confirmation_code('b-bob')}",
        ),
        _whatsapp("wamid.u2", "+447911000199", 6),
    ],
    # Nobody: stays unlinked.
    [_whatsapp("wamid.n1", "+447911000198", 7)],
]

Event = BookingEvent | MessageEvent


def interleave(order: list[int]) -> list[Event]:
    """Every event, in the order ``order`` (a permutation of their indexes) draws, except that
    each conversation's messages keep their own order."""
    events: list[Event] = [*BOOKINGS, *(m for c in CONVERSATIONS for m in c)]
    placed: list[Event] = [events[i] for i in order]
    for conversation in CONVERSATIONS:
        slots = [i for i, event in enumerate(placed) if event in conversation]
        for slot, message in zip(slots, conversation, strict=True):
            placed[slot] = message
    return placed


async def outcome(store: Store) -> dict[str, Any]:
    """What a person would check: who each thread and message is with, and why; each
    customer's analytics. Customers are named, since their ids differ from run to run."""
    names = {c["_id"]: c.get("name") async for c in store.database["customers"].find({})}
    threads = {t["_id"]: t async for t in store.database["threads"].find({"merged_into": None})}
    messages = {
        m["provider_message_id"]: (names.get(m["customer_id"]), threads[m["thread_id"]]["_id"])
        async for m in store.database["messages"].find({})
    }
    customers = await store.database["customers"].find({"merged_into": None}).to_list()
    return {
        "threads": sorted(
            (sorted(t["participant_keys"]), names.get(t["customer_id"]), t["matched_by"])
            for t in threads.values()
        ),
        "messages": {mid: who for mid, (who, _) in messages.items()},
        "analytics": sorted(
            (
                c.get("name"),
                c["analytics"]["total_bookings"],
                c["analytics"].get("last_contact_at"),
            )
            for c in customers
        ),
    }


async def handled(events: list[Event], settings: Settings, tenants: TenantDirectory) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    store = Store.open(client, f"order_{uuid.uuid4().hex[:12]}")
    try:
        await store.ensure_indexes()
        bookings, messages = BookingsHandler(store, tenants), MessagesHandler(store, tenants)
        for event in events:
            if isinstance(event, BookingEvent):
                await bookings.handle(event)
            else:
                await messages.handle(event)
        return await outcome(store)
    finally:
        await client.drop_database(store.database.name)
        await client.close()


_COUNT = len(BOOKINGS) + sum(len(c) for c in CONVERSATIONS)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.permutations(list(range(_COUNT))))
async def test_links_matched_by_and_analytics_do_not_depend_on_the_order(
    order: list[int], settings: Settings, tenants: TenantDirectory
) -> None:
    canonical = await handled(
        [*BOOKINGS, *(m for c in CONVERSATIONS for m in c)], settings, tenants
    )
    # The expectations a person would state, so the canonical run itself is checked too.
    assert canonical["messages"] == {
        "wamid.a1": "Ann",
        "wamid.a2": "Ann",
        "SM-b1": "Cara",
        "<c1@example.com>": "Cara",
        "wamid.u1": "Bob",
        "wamid.u2": "Bob",
        "wamid.n1": None,
    }
    assert await handled(interleave(order), settings, tenants) == canonical
