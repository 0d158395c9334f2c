"""The tenant the read-API benchmark reads (customers, threads and messages in bulk), and the
customers the export benchmark exports.

Writing 100,000 messages through the consumers would take hours on the embedded database, so
the documents are built here and bulk-inserted. To keep them what the consumers write, a few
bookings and messages first go through the real handlers (in a side database), and every
built document is checked against the fields and types of those samples; the search fields
and identifiers are computed with the consumers' own functions.
"""

import asyncio
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from bson import Decimal128

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Business, Channel, Content, Participant, TenantDirectory, message_event_id
from domain.documents import CustomerDocument, MessageDocument, MoneyDocument, ThreadDocument
from domain.messages import participant_document
from domain.profiles import identifiers_of
from domain.store.database import Store
from domain.store.search import (
    external_id_fields,
    fold,
    name_fields,
    participant_words,
    thread_words,
    words,
)
from matchers import normalise_phone, phone_match_key
from matchers.keys import thread_id
from matchers.participants import participant_keys
from tests.factories import booking_event, message_event

TENANT = "acme"
REGION = "GB"
MESSAGES_PER_THREAD = 10
#: The label one thread in five carries.
LABEL = "vip"
_NAMESPACE = uuid.UUID("6c1f0f3a-3b9e-4d55-9d0e-2f4a8b1c7e21")

FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Freya", "Lily", "Sophie", "Grace", "Chloe",
    "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Muhammad", "Theo",
    "José", "María", "Zoë", "Siobhán", "Wei", "Priya", "Aarav", "Fatima", "Lukas", "Anna",
)  # fmt: skip
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper",
    "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee",
    "Allen", "Morris", "Khan", "Scott", "Watson", "Davis", "Parker", "James", "Bennett",
    "Núñez", "O'Brien", "Müller", "Nguyen",
)  # fmt: skip
DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "btinternet.com")
SOURCES = ("online", "online", "online", "dashboard", "whatsapp")
TEXTS = (
    "Hi, is the 10am kayak tour on Saturday still available for two adults?",
    "Thanks! See you then.",
    "Can we move our booking to Sunday afternoon instead?",
    "Your booking is confirmed. Please arrive 15 minutes early.",
    "Do you provide wetsuits or should we bring our own?",
    "Yes, wetsuits and buoyancy aids are included.",
    "Is there parking near the meeting point?",
    "There is a pay and display car park next to the boathouse.",
    "Running about 10 minutes late, sorry!",
    "No problem, we will wait for you.",
)
#: The account each channel's messages reach, as in deploy/dev/tenants.toml.
ACCOUNTS = {
    Channel.WHATSAPP: ("meta", "106540352242922"),
    Channel.INSTAGRAM: ("meta", "17841400000000000"),
    Channel.MESSENGER: ("meta", "100000000000000"),
    Channel.SMS: ("twilio", "+15557122661"),
    Channel.EMAIL: ("mailgun", "bookings@acme.example"),
}
LINKED_CHANNELS = (Channel.WHATSAPP, Channel.WHATSAPP, Channel.WHATSAPP, Channel.SMS, Channel.EMAIL)
OTHER_CHANNELS = (
    Channel.WHATSAPP, Channel.WHATSAPP, Channel.INSTAGRAM, Channel.MESSENGER, Channel.SMS,
    Channel.EMAIL,
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    email: str
    phone: str
    previous_phone: str | None
    external_id: str | None

    @property
    def national_phone(self) -> str:
        """The phone as a person in the UK writes it: ``07400 012345``."""
        return f"0{self.phone[3:7]} {self.phone[7:]}"


@dataclass(frozen=True)
class FillReport:
    customers: int
    threads: int
    messages: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "threads": self.threads,
            "messages": self.messages,
            "fill_seconds": round(self.seconds, 1),
        }


def people(count: int) -> list[Person]:
    """``count`` customers; names repeat as they do in a real customer base (every
    first-name and surname pair about ``count / 1500`` times)."""
    found = []
    for index in range(count):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        surname = SURNAMES[(index // len(FIRST_NAMES) + index) % len(SURNAMES)]
        local = re.sub(r"[^a-z]", "", fold(first)) + "." + re.sub(r"[^a-z]", "", fold(surname))
        found.append(
            Person(
                index=index,
                name=f"{first} {surname}",
                email=f"{local}{index}@{DOMAINS[index % len(DOMAINS)]}",
                phone=f"+447400{index:06d}",
                previous_phone=f"+447812{index:06d}" if index % 10 == 3 else None,
                external_id=f"C{100000 + index}" if index % 3 == 0 else None,
            )
        )
    return found


def customer_id(person: Person, tenant: str = TENANT) -> str:
    return uuid.uuid5(_NAMESPACE, f"{tenant}:customer:{person.index}").hex


def customer_document(
    person: Person,
    *,
    now: datetime,
    count: int,
    last_contact_at: datetime | None,
    tenant: str = TENANT,
) -> CustomerDocument:
    """The profile the bookings worker leaves after this person's bookings (one of ``count``
    customers of ``tenant``)."""
    ids, _ = identifiers_of(
        external_id=person.external_id,
        emails=[person.email],
        phone=person.phone,
        region=REGION,
        channel_identities=[],
    )
    previous_phone = (
        normalise_phone(person.previous_phone, REGION) if person.previous_phone else None
    )
    if ids.phone is None or (person.previous_phone and previous_phone is None):
        raise ValueError(f"not a valid phone number: {person}")
    previous = [previous_phone] if previous_phone else []
    # Newest customers have the highest index: created over about two years until now.
    created = now - timedelta(minutes=50 * (count - person.index))
    bookings = 1 + person.index % 4
    spent: list[MoneyDocument] = [
        {"currency": "GBP", "amount": Decimal128(f"{bookings * (35 + person.index % 17)}.00")}
    ]
    search = name_fields(person.name)
    document: CustomerDocument = {
        "_id": customer_id(person, tenant),
        "tenant_id": tenant,
        "source": SOURCES[person.index % len(SOURCES)],
        "created_at": created,
        "customer_since": created,
        "emails": list(ids.emails),
        "phone": ids.phone,
        "phone_key": ids.phone_key,
        "phone_changed_at": created,
        "previous_phones": previous,
        "previous_phone_keys": [phone_match_key(phone) for phone in previous],
        "channel_identities": [],
        "tags": [],
        "notes": None,
        "merged_into": None,
        "revision": 1 + len(previous),
        "bookings_revision": bookings,
        "analytics_revision": bookings,
        "analytics": {
            "total_bookings": bookings,
            "total_spent": spent,
            "lifetime_value": spent,
            "last_booking_at": created + timedelta(days=person.index % 200),
            "last_contact_at": last_contact_at,
            "customer_since": created,
        },
        "known_customers": [],
        "name": person.name,
        "updated_at": created,
        "search_name": search["search_name"],
        "search_words": search["search_words"],
        "search_grams": search["search_grams"],
    }
    if ids.external_id:
        document["external_id"] = ids.external_id
        document["external_id_folded"] = external_id_fields(ids.external_id)["external_id_folded"]
    return document


def _participant(channel: Channel, number: int, person: Person | None) -> Participant:
    """Who the thread is with: a customer by their phone or email, or someone unknown."""
    phone = person.phone if person else f"+447922{number:06d}"
    email = person.email if person else f"visitor{number}@example.net"
    if channel is Channel.WHATSAPP:
        return Participant(channel_user_id=phone[1:], phone=phone)
    if channel is Channel.SMS:
        return Participant(channel_user_id=phone, phone=phone)
    if channel is Channel.EMAIL:
        return Participant(channel_user_id=email, email=email)
    return Participant(channel_user_id=f"{8_100_000_000_000_000 + number}")


@cache
def _words(text: str) -> list[str]:
    return words(text)


@cache
def _content(text: str) -> dict[str, Any]:
    """Shared by every message with this text (documents are only read, never changed)."""
    return Content(type="text", text=text).model_dump(mode="json", exclude_none=True)


def conversation(
    number: int, person: Person | None, *, now: datetime, threads: int, span: timedelta
) -> tuple[ThreadDocument, list[MessageDocument]]:
    """Thread ``number`` and its messages as the messages worker stores and summarises them.

    Last activity is spread over ``span`` before ``now``; three threads in four have been
    read up to their second-to-last message.
    """
    channels = LINKED_CHANNELS if person else OTHER_CHANNELS
    channel = channels[number % len(channels)]
    provider, account = ACCOUNTS[channel]
    participant = _participant(channel, number, person)
    keys = participant_keys(channel, participant)
    identity = participant_document(participant)
    counterpart = participant.email or participant.phone or participant.channel_user_id
    business = Business(channel_account_id=account).model_dump()
    linked_id = customer_id(person) if person else None
    matched_by = ("email" if channel is Channel.EMAIL else "phone") if person else None
    last_at = now - span * (((number * 7_919) % threads) / threads)
    gap = timedelta(minutes=7 + number % 5)
    messages: list[MessageDocument] = []
    for k in range(MESSAGES_PER_THREAD):
        inbound = (k + number) % 3 != 1
        text = TEXTS[(k + number) % len(TEXTS)]
        provider_message_id = f"{channel}.bench.{number}.{k}"
        occurred_at = last_at - gap * (MESSAGES_PER_THREAD - 1 - k)
        messages.append(
            {
                "_id": str(message_event_id(channel, provider, provider_message_id)),
                "tenant_id": TENANT,
                "thread_id": thread_id(TENANT, channel, keys[0]),
                "channel": str(channel),
                "provider": provider,
                "direction": "inbound" if inbound else "outbound",
                "provider_message_id": provider_message_id,
                "occurred_at": occurred_at,
                "received_at": occurred_at + timedelta(seconds=1),
                "participant": identity,
                "counterpart": counterpart,
                "business": business,
                "content": _content(text),
                # Real emails carry their headers here; the thread list and search read
                # neither, and the factory-made sample has none.
                "email": None,
                "references": [],
                # Every text is one line under 140 characters: its preview is itself.
                "preview": text,
                "customer_id": linked_id,
                "matched_by": matched_by,
                "candidates": [],
                "status": None if inbound else "sent",
                "status_rank": 0 if inbound else 1,
                "deleted": False,
                "stored_at": now,
                "group": None,
                "search_words": _words(text),
            }
        )
    last = messages[-1]
    last_read_at = messages[-2]["occurred_at"] if number % 4 else None
    unread = [
        m
        for m in messages
        if m["direction"] == "inbound" and (last_read_at is None or m["occurred_at"] > last_read_at)
    ]
    thread: ThreadDocument = {
        "_id": last["thread_id"],
        "tenant_id": TENANT,
        "channel": str(channel),
        "participant_keys": keys,
        "participant": identity,
        "business_account": account,
        "customer_id": linked_id,
        "matched_by": matched_by,
        "candidates": [],
        "created_at": messages[0]["occurred_at"],
        "last_message": {
            "message_id": last["_id"],
            "preview": last["preview"],
            "direction": last["direction"],
            "occurred_at": last["occurred_at"],
            "content_type": "text",
        },
        "last_message_at": last["occurred_at"],
        "message_count": len(messages),
        "unread_count": len(unread),
        "last_read_at": last_read_at,
        "summary_revision": 1,
        "summary_written": 1,
        "summary_at": now,
        # A team works its threads: one in three resolved, one in five labelled.
        "status": "resolved" if number % 3 == 2 else "open",
        "labels": [LABEL] if number % 5 == 0 else [],
        "participant_words": participant_words(identity),
        "search_words": thread_words(
            participant_words(identity), [m["search_words"] for m in reversed(messages)]
        ),
        "last_inbound_at": max(
            (m["occurred_at"] for m in messages if m["direction"] == "inbound"), default=None
        ),
    }
    return thread, messages


async def real_samples(store: Store, tenants: TenantDirectory) -> dict[str, list[dict[str, Any]]]:
    """Profiles, threads and messages written by the consumers themselves."""
    bookings = BookingsHandler(store, tenants)
    await bookings.handle(
        booking_event(
            booking_id="s1",
            name="Ann Lee",
            emails=["Ann.Lee@Example.com"],
            phone="07400 999001",
            external_id="C-1",
        )
    )
    await bookings.handle(
        booking_event(
            booking_id="s2", name="Bo Chan", emails=["bo@example.com"], phone="07812 999002"
        )
    )
    # A later booking with a new phone: the first becomes a previous phone.
    await bookings.handle(
        booking_event(
            booking_id="s3",
            name="Bo Chan",
            emails=["bo@example.com"],
            phone="07400 999002",
            occurred_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
    )
    messages = MessagesHandler(store, tenants)
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="s.1", channel_user_id="447400999001", phone="+447400999001"
            ),
            message_event(
                provider_message_id="s.2",
                direction="outbound",
                channel_user_id="447400999001",
                phone="+447400999001",
            ),
            message_event(
                provider_message_id="s.3", channel_user_id="447922999003", phone="+447922999003"
            ),
            message_event(
                provider_message_id="s.4",
                channel="email",
                provider="mailgun",
                channel_user_id="bo@example.com",
                phone=None,
                email="bo@example.com",
            ),
            message_event(
                provider_message_id="s.5",
                channel="messenger",
                channel_user_id="8100000000000005",
                phone=None,
            ),
        ]
    )
    database = store.database
    return {
        name: await database[name].find({}).to_list()
        for name in ("customers", "threads", "messages")
    }


def fields(document: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field of ``document``, nested documents included, with its value's type."""
    found: dict[str, str] = {}
    for key, value in document.items():
        found[prefix + key] = type(value).__name__
        if isinstance(value, dict):
            found.update(fields(value, f"{prefix}{key}."))
    return found


def check_shape(built: Mapping[str, Any], samples: list[dict[str, Any]], what: str) -> None:
    """Fail unless ``built`` has exactly the fields of one of the consumers' ``samples``,
    with the same types wherever both are set."""
    mine = fields(built)
    for sample in samples:
        theirs = fields(sample)
        if set(mine) == set(theirs) and all(
            mine[f] == theirs[f] or "NoneType" in (mine[f], theirs[f]) for f in mine
        ):
            return
    closest = fields(samples[0])
    raise AssertionError(
        f"bench {what} differ from what the consumers write: "
        f"only here {sorted(set(mine) - set(closest))}, "
        f"only there {sorted(set(closest) - set(mine))}, "
        f"types {sorted(f for f in set(mine) & set(closest) if mine[f] != closest[f])}"
    )


def _chunks(
    documents: Sequence[Mapping[str, Any]], size: int
) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(documents), size):
        yield documents[start : start + size]


async def fill(
    store: Store,
    sample_store: Store,
    tenants: TenantDirectory,
    everyone: list[Person],
    *,
    messages: int,
) -> FillReport:
    """A profile for each of ``everyone`` and ``messages`` messages in threads of ten, half
    of the threads with a customer; built, checked against real samples, bulk-inserted."""
    started = time.perf_counter()
    samples = await real_samples(sample_store, tenants)
    now = datetime.now(UTC)
    customers = len(everyone)
    count = max(1, messages // MESSAGES_PER_THREAD)
    threads, stored, contacts = [], [], {}
    for number in range(count):
        # Every other thread is with a customer, each with a different one (7,919 is prime).
        person = everyone[(number // 2 * 7_919) % customers] if number % 2 == 0 else None
        thread, its_messages = conversation(
            number, person, now=now, threads=count, span=timedelta(days=90)
        )
        threads.append(thread)
        stored.extend(its_messages)
        if person:
            contacts[person.index] = thread["last_message_at"]
    profiles = [
        customer_document(
            person, now=now, count=customers, last_contact_at=contacts.get(person.index)
        )
        for person in everyone
    ]
    for what, built in (("customers", profiles), ("threads", threads), ("messages", stored)):
        for document in built[:: max(1, len(built) // 50)]:
            check_shape(document, samples[what], what)
    await _insert(store, {"customers": profiles, "threads": threads, "messages": stored})
    return FillReport(customers, len(threads), len(stored), time.perf_counter() - started)


async def fill_customers(
    store: Store,
    sample_store: Store,
    tenants: TenantDirectory,
    groups: Mapping[str, list[Person]],
) -> float:
    """A profile for each person of each tenant in ``groups`` (with no threads), built,
    checked against real samples, bulk-inserted; returns the seconds it took."""
    started = time.perf_counter()
    samples = await real_samples(sample_store, tenants)
    now = datetime.now(UTC)
    profiles = [
        customer_document(person, now=now, count=len(group), last_contact_at=None, tenant=tenant)
        for tenant, group in groups.items()
        for person in group
    ]
    for document in profiles[:: max(1, len(profiles) // 50)]:
        check_shape(document, samples["customers"], "customers")
    await _insert(store, {"customers": profiles})
    return time.perf_counter() - started


async def _insert(store: Store, documents: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Bulk-insert, then build the store's indexes once over the full collections: on the
    embedded server that is faster (about 55 s against 80 s at full size) than keeping them
    up to date insert by insert."""
    database = store.database
    for name in documents:
        await database[name].drop_indexes()
    in_flight = asyncio.Semaphore(4)

    async def insert(name: str, chunk: Sequence[Mapping[str, Any]]) -> None:
        async with in_flight:
            await database[name].insert_many(cast("list[dict[str, Any]]", chunk), ordered=False)

    await asyncio.gather(
        *(
            insert(name, chunk)
            for name, built in documents.items()
            for chunk in _chunks(built, 1000)
        )
    )
    await store.ensure_indexes()
