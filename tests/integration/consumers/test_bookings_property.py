"""Property: whatever the order, duplication and interleaving of booking events, the stored
analytics equal a recomputation, and every person is exactly one customer."""

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from consumers.bookings import BookingsHandler
from contracts import BookingEvent, Settings, TenantDirectory
from domain.store.database import Store
from tests.factories import booking_event

pytestmark = pytest.mark.integration

COUNTED = {"confirmed", "completed"}
STATUSES = ["pending", "confirmed", "cancelled", "completed", "no_show"]
PHONES = ["+447911123456", "+447912345678", "+447911123457", "+447400123456"]
START = datetime(2026, 1, 1, tzinfo=UTC)

version_strategy = st.tuples(
    st.sampled_from(STATUSES),
    st.decimals(min_value=0, max_value=500, places=2),
)
booking_strategy = st.tuples(
    st.integers(min_value=0, max_value=3),  # which person
    st.sampled_from(["GBP", "EUR"]),
    st.integers(min_value=0, max_value=300),  # created_at offset in days
    st.lists(version_strategy, min_size=1, max_size=4),
)


def events_of(bookings: list[Any]) -> tuple[list[BookingEvent], dict[int, list[BookingEvent]]]:
    events: list[BookingEvent] = []
    finals: dict[int, list[BookingEvent]] = defaultdict(list)
    for index, (person, currency, day, versions) in enumerate(bookings):
        created = START + timedelta(days=day)
        for number, (status, total) in enumerate(versions, start=1):
            event = booking_event(
                booking_id=f"b{index}",
                version=number,
                status=status,
                name=f"Person {person}",
                emails=[f"person{person}@example.com"],
                phone=PHONES[person],
                grand_total=str(total),
                currency=currency,
                created_at=created,
            )
            events.append(event)
        finals[person].append(event)  # the last version is the one that stands
    return events, finals


def expected_figures(finals: list[BookingEvent]) -> tuple[int, dict[str, Decimal], Any]:
    counted = [e for e in finals if e.booking.status in COUNTED]
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for event in counted:
        spent[event.booking.currency] += event.booking.grand_total
    last = max((e.booking.created_at for e in counted), default=None)
    return len(counted), dict(spent), last


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bookings=st.lists(booking_strategy, min_size=1, max_size=6),
    duplicates=st.integers(min_value=0, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
async def test_analytics_equal_a_recomputation_whatever_the_order(
    bookings: list[Any], duplicates: int, seed: int, settings: Settings, tenants: TenantDirectory
) -> None:
    """Shuffled, repeated and interleaved events give the figures of the final versions."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    store = Store.open(client, f"prop_{uuid.uuid4().hex[:12]}")
    try:
        await store.ensure_indexes()
        handler = BookingsHandler(store, tenants)
        events, finals = events_of(bookings)
        shuffle = random.Random(seed)
        stream = events + [shuffle.choice(events) for _ in range(duplicates)]
        shuffle.shuffle(stream)
        # Two consumers, as two partitions would have them: a booking's events stay on one.
        partitions: list[list[BookingEvent]] = [[], []]
        for event in stream:
            partitions[int(event.booking.booking_id[1:]) % 2].append(event)

        async def consume(events: list[BookingEvent]) -> None:
            # In polls of any size, as a worker reads them; a poll of one is one by one.
            position = 0
            while position < len(events):
                size = shuffle.randint(1, len(events))
                poll = events[position : position + size]
                if len(poll) == 1:
                    await handler.handle(poll[0])
                else:
                    await handler.handle_batch(poll)
                position += size

        await asyncio.gather(*(consume(part) for part in partitions))

        profiles = await store.database["customers"].find({}).to_list()
        by_email = {profile["emails"][0]: profile for profile in profiles}
        assert len(profiles) == len(finals), "a person was split or two were merged"
        for person, person_finals in finals.items():
            profile = by_email[f"person{person}@example.com"]
            total, spent, last = expected_figures(person_finals)
            analytics = profile["analytics"]
            assert analytics["total_bookings"] == total
            stored_spent = {
                r["currency"]: r["amount"].to_decimal() for r in analytics["total_spent"]
            }
            assert stored_spent == spent
            assert analytics["last_booking_at"] == last
            assert profile["phone"] == PHONES[person]
    finally:
        await client.drop_database(store.database.name)
        await client.close()
