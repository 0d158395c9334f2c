"""A poll of booking events recorded together ends as the same events recorded one by one, in a
few commands per poll, and gives way to one by one when another writer changes what it read."""

import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from structlog.testing import capture_logs

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import BookingEvent, Settings, Tenant, TenantDirectory
from domain.booking_polls import BookingPolls
from domain.bookings import BookingService
from domain.customers import CustomerService
from domain.store.database import Store
from tests.factories import booking_event, confirmation_code, message_event
from tests.integration.recording import CommandRecorder

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
PEOPLE = [
    {"name": "Ann", "email": "ann@example.com", "phone": "+447911123456", "external_id": None},
    {"name": "Bob", "email": "bob@example.com", "phone": "+447911123457", "external_id": "crm-b"},
    {"name": "Cy", "email": None, "phone": "+447911123458", "external_id": None},
    {"name": "Di", "email": "di@example.com", "phone": None, "external_id": "crm-d"},
    {"name": "", "email": None, "phone": None, "external_id": None},
]

person = st.integers(min_value=0, max_value=len(PEOPLE) - 1)
booking_strategy = st.tuples(
    person,
    st.lists(
        st.tuples(
            st.sampled_from(["confirmed", "cancelled", "completed", "pending"]),
            st.sets(st.sampled_from(["email", "phone", "external_id"])),  # what it gives
            st.sampled_from(["GBP", "EUR"]),
        ),
        min_size=1,
        max_size=3,
    ),
    st.lists(person, max_size=2),  # the guests
    st.integers(min_value=0, max_value=200),  # created, days after START
)


def _events(bookings: list[Any]) -> list[BookingEvent]:
    events = []
    for index, (who, versions, guests, day) in enumerate(bookings):
        booker = PEOPLE[who]
        for number, (status, given_ids, currency) in enumerate(versions, start=1):
            events.append(
                booking_event(
                    booking_id=f"b{index}",
                    version=number,
                    status=status,
                    name=str(booker["name"]),
                    emails=[str(booker["email"])]
                    if "email" in given_ids and booker["email"]
                    else [],
                    phone=str(booker["phone"])
                    if "phone" in given_ids and booker["phone"]
                    else None,
                    external_id=(
                        str(booker["external_id"])
                        if "external_id" in given_ids and booker["external_id"]
                        else None
                    ),
                    grand_total=f"{10 * (index + 1) + number}.50",
                    currency=currency,
                    created_at=START + timedelta(days=day),
                    guests=[
                        {
                            "name": PEOPLE[g]["name"] or "Guest",
                            "email": PEOPLE[g]["email"],
                            "phone": PEOPLE[g]["phone"],
                        }
                        for g in guests
                    ],
                )
            )
    return events


def _earlier_messages() -> list[Any]:
    """Communications before any booking: by phone, by email, and naming a booking's code."""
    return [
        message_event(provider_message_id="wamid.ann", channel_user_id="447911123456"),
        message_event(
            provider_message_id="mail.di",
            channel="email",
            provider="mailgun",
            channel_user_id="di@example.com",
            phone=None,
            email="di@example.com",
        ),
        message_event(
            provider_message_id="wamid.code",
            channel_user_id="447000000001",
            phone="+447000000001",
            text=f"About {confirmation_code('b0')}",
            references=[confirmation_code("b0")],
        ),
    ]


async def _state(store: Store) -> dict[str, Any]:
    """Everything the events decided, with customers named by what they hold, not their ids."""
    customers = await store.database["customers"].find({}).to_list()
    label = {
        c["_id"]: (tuple(c["emails"]), c.get("phone"), c.get("external_id"), c.get("name"))
        for c in customers
    }
    profiles = list(
        (
            label[c["_id"]],
            tuple(c["previous_phones"]),
            c["analytics"]["total_bookings"],
            tuple((r["currency"], str(r["amount"])) for r in c["analytics"]["total_spent"]),
            c["analytics"]["last_booking_at"],
            c["analytics"]["last_contact_at"],
            tuple(sorted(str(k.get("name")) for k in c["known_customers"])),
            c.get("merged_into") is not None,
        )
        for c in customers
    )
    profiles.sort(key=repr)
    bookings = sorted(
        (
            (
                b["booking_id"],
                b["version"],
                b["status"],
                label.get(b["customer_id"]),
                b["matched_by"],
                tuple(label.get(g["customer_id"]) for g in b["guests"]),
            )
            for b in await store.database["bookings"].find({}).to_list()
        ),
        key=repr,
    )
    threads = sorted(
        (
            (t["_id"], label.get(t.get("customer_id")), t.get("matched_by"))
            for t in await store.database["threads"].find({}).to_list()
        ),
        key=repr,
    )
    messages = sorted(
        (
            (m["_id"], label.get(m.get("customer_id")), m.get("matched_by"))
            for m in await store.database["messages"].find({}).to_list()
        ),
        key=repr,
    )
    claims = sorted(
        (
            (c["_id"], label.get(c["customer_id"]))
            for c in await store.database["identity_claims"].find({}).to_list()
        ),
        key=repr,
    )
    return {
        "profiles": profiles,
        "bookings": bookings,
        "threads": threads,
        "messages": messages,
        "claims": claims,
    }


@pytest.fixture
async def two_stores(settings: Settings) -> AsyncIterator[Callable[[], Awaitable[list[Store]]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    names: list[str] = []

    async def fresh() -> list[Store]:
        stores = []
        for _ in range(2):
            names.append(f"polls_{uuid.uuid4().hex[:12]}")
            store = Store.open(client, names[-1])
            await store.ensure_indexes()
            stores.append(store)
        return stores

    yield fresh
    for name in names:
        await client.drop_database(name)
    await client.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bookings=st.lists(booking_strategy, min_size=1, max_size=6),
    duplicates=st.integers(min_value=0, max_value=4),
    seed=st.integers(min_value=0, max_value=2**32),
)
async def test_a_poll_ends_as_its_events_one_by_one(
    bookings: list[Any],
    duplicates: int,
    seed: int,
    two_stores: Callable[[], Awaitable[list[Store]]],
    tenants: TenantDirectory,
) -> None:
    """Shuffled and repeated events with identifiers given piecemeal, guests, and messages
    that came first: profiles, analytics, bookings, links and claims are the same whether
    the events are recorded one by one or in polls of any size."""
    one_by_one, in_polls = await two_stores()
    shuffle = random.Random(seed)
    events = _events(bookings)
    stream = events + [shuffle.choice(events) for _ in range(duplicates)]
    shuffle.shuffle(stream)
    for store in (one_by_one, in_polls):
        await MessagesHandler(store, tenants).handle_batch(_earlier_messages())
    single = BookingsHandler(one_by_one, tenants)
    for event in stream:
        await single.handle(event)
    polled = BookingsHandler(in_polls, tenants)
    position = 0
    while position < len(stream):
        size = shuffle.randint(1, len(stream))
        await polled.handle_batch(stream[position : position + size])
        position += size
    assert await _state(in_polls) == await _state(one_by_one)


async def test_a_poll_costs_the_same_commands_however_many_events(
    recorded: tuple[Store, CommandRecorder], tenants: TenantDirectory
) -> None:
    """Polls of 20 and of 200 events (new customers, repeat bookings, status changes) send
    the same commands: none per event."""
    store, recorder = recorded
    handler = BookingsHandler(store, tenants)
    counts = []
    for first, people in ((0, 7), (7, 67)):
        events = []
        for n in range(first, first + people):
            email = f"guest{n}@example.com"
            events.append(booking_event(booking_id=f"a{n}", emails=[email], version=1))
            events.append(booking_event(booking_id=f"b{n}", emails=[email], version=1))
            events.append(
                booking_event(booking_id=f"a{n}", emails=[email], version=2, status="cancelled")
            )
        recorder.commands.clear()
        recorder.recording = True
        await handler.handle_batch(events[:200])
        recorder.recording = False
        counts.append(Counter(name for name, _ in recorder.commands))
    assert await store.database["customers"].count_documents({}) == 74
    assert counts[0] == counts[1], counts
    assert sum(counts[1].values()) <= 20, counts[1]


class _Interrupted(BookingPolls):
    """A poll that lets ``meanwhile`` run once, after its read and before its writes: the
    window another writer can race into."""

    def __init__(self, store: Store, meanwhile: Callable[[], Awaitable[None]]) -> None:
        super().__init__(store, BookingService(store))
        self.meanwhile = meanwhile

    async def _write_profiles(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        await self.meanwhile()
        return await super()._write_profiles(*args, **kwargs)


def _acme(tenants: TenantDirectory) -> Tenant:
    tenant = tenants.get("acme")
    assert tenant is not None
    return tenant


async def test_a_merge_racing_a_poll_leaves_the_booking_with_the_survivor(
    store: Store, tenants: TenantDirectory
) -> None:
    """Ann is merged into Bob after the poll read her and before it wrote: the poll's booking
    and analytics end on Bob."""
    handler = BookingsHandler(store, tenants)
    await handler.handle(booking_event(booking_id="b-ann", emails=["ann@example.com"]))
    await handler.handle(booking_event(booking_id="b-bob", name="Bob", emails=["bob@x.com"]))
    ids = {c["emails"][0]: c["_id"] for c in await store.database["customers"].find().to_list()}
    ann, bob = ids["ann@example.com"], ids["bob@x.com"]

    async def merge() -> None:
        await CustomerService(store).merge(_acme(tenants), bob, ann)

    poll = [
        booking_event(booking_id="b-ann-2", emails=["ann@example.com"]),
        booking_event(booking_id="b-new", name="Cy", emails=["cy@example.com"]),
    ]
    await _Interrupted(store, merge).record(_acme(tenants), poll)
    booking = await store.database["bookings"].find_one({"booking_id": "b-ann-2"})
    assert booking is not None
    assert booking["customer_id"] == bob
    survivor = await store.database["customers"].find_one({"_id": bob})
    assert survivor is not None
    assert survivor["analytics"]["total_bookings"] == 3
    assert await store.database["customers"].count_documents({"merged_into": None}) == 2


async def test_a_delete_racing_a_poll_gives_the_booking_to_a_live_customer(
    store: Store, tenants: TenantDirectory
) -> None:
    """Ann is deleted in the same window: her new booking goes to the profile her details
    find now (a new one), never to the deleted id."""
    handler = BookingsHandler(store, tenants)
    await handler.handle(booking_event(booking_id="b-ann", emails=["ann@example.com"]))
    [ann] = [c["_id"] for c in await store.database["customers"].find().to_list()]

    async def delete() -> None:
        await CustomerService(store).delete(_acme(tenants), ann)

    poll = [booking_event(booking_id="b-ann-2", emails=["ann@example.com"])]
    await _Interrupted(store, delete).record(_acme(tenants), poll)
    [now] = await store.database["customers"].find().to_list()
    assert now["_id"] != ann
    booking = await store.database["bookings"].find_one({"booking_id": "b-ann-2"})
    assert booking is not None
    assert booking["customer_id"] == now["_id"]
    assert now["analytics"]["total_bookings"] == 1


async def test_a_concurrent_creator_makes_the_poll_give_way(
    store: Store, tenants: TenantDirectory
) -> None:
    """Another worker creates Ann between the poll's read and its writes: the poll's events
    are recorded one by one and find her, so Ann is one profile with both bookings."""
    other = BookingsHandler(store, tenants)

    async def create() -> None:
        await other.handle(booking_event(booking_id="b-elsewhere", emails=["ann@example.com"]))

    poll = [
        booking_event(booking_id="b-1", emails=["ann@example.com"]),
        booking_event(booking_id="b-2", name="Cy", emails=["cy@example.com"]),
    ]
    await _Interrupted(store, create).record(_acme(tenants), poll)
    profiles = await store.database["customers"].find().to_list()
    by_email = {p["emails"][0]: p for p in profiles}
    assert sorted(by_email) == ["ann@example.com", "cy@example.com"]
    assert by_email["ann@example.com"]["analytics"]["total_bookings"] == 2
    owners = {c["customer_id"] for c in await store.database["identity_claims"].find().to_list()}
    assert owners == {p["_id"] for p in profiles}, "a claim points at a profile never created"


async def test_an_edit_racing_a_poll_is_kept_and_the_poll_applied(
    store: Store, tenants: TenantDirectory
) -> None:
    """Staff edit Ann's profile between the poll's read and its writes: the edit stands and
    the poll's new phone for her is applied too."""
    handler = BookingsHandler(store, tenants)
    await handler.handle(booking_event(booking_id="b-1", emails=["ann@example.com"]))
    [ann] = await store.database["customers"].find().to_list()

    async def edit() -> None:
        await store.customers.update_checked(ann["_id"], ann["revision"], {"notes": "VIP"})

    poll = [booking_event(booking_id="b-2", emails=["ann@example.com"], phone="+447911123456")]
    await _Interrupted(store, edit).record(_acme(tenants), poll)
    [now] = await store.database["customers"].find().to_list()
    assert now["notes"] == "VIP"
    assert now["phone"] == "+447911123456"
    assert now["analytics"]["total_bookings"] == 2


async def test_claims_a_stopped_creator_left_are_taken_over_without_giving_way(
    store: Store, tenants: TenantDirectory
) -> None:
    """A worker killed between its claims and its profiles leaves claims of a customer that
    does not exist: the next poll creates that customer under those claims' id, in one go
    (not one by one), and Bob beside her is created as usual."""
    await store.claims.claim_for_many_new("acme", {"ghost": ["email:ann@example.com"]})
    poll = [
        booking_event(booking_id="b-ann", emails=["ann@example.com"]),
        booking_event(booking_id="b-bob", name="Bob", emails=["bob@example.com"]),
    ]
    with capture_logs() as logs:
        await BookingPolls(store, BookingService(store)).record(_acme(tenants), poll)
    assert "booking_poll_one_by_one" not in [entry["event"] for entry in logs]
    profiles = {p["emails"][0]: p for p in await store.database["customers"].find().to_list()}
    assert profiles["ann@example.com"]["_id"] == "ghost"
    assert profiles["ann@example.com"]["analytics"]["total_bookings"] == 1
    booking = await store.database["bookings"].find_one({"booking_id": "b-ann"})
    assert booking is not None
    assert booking["customer_id"] == "ghost"
    owners = {c["customer_id"] for c in await store.database["identity_claims"].find().to_list()}
    assert owners == {p["_id"] for p in profiles.values()}
