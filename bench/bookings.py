"""Bookings consumer throughput against raw bulk upserts into the same database.

A topic is filled with booking events (new customers, repeat bookings, status changes); the
bookings worker drains it into profiles. The baseline writes the same number of documents
with unordered bulk upserts, the fastest the database takes them, in the same run.
"""

import asyncio
import time

from pymongo import UpdateOne

from bench.stack import ConsumerFigures, embedded_stack
from consumers.bookings import BookingsHandler
from consumers.deadletters import DeadLetters
from consumers.runner import ConsumerRunner, Worker, decode_json_model
from contracts import BookingEvent, parse_tenants
from tests.factories import booking_event

TENANTS = """
[[tenants]]
id = "acme"
name = "Acme"
default_region = "GB"
"""


def _events(customers: int) -> list[BookingEvent]:
    """Per customer: a first booking, a repeat booking, and a status change of the first."""
    events = []
    for person in range(customers):
        email = f"guest{person}@example.com"
        events.append(booking_event(booking_id=f"a{person}", emails=[email], version=1))
        events.append(booking_event(booking_id=f"b{person}", emails=[email], version=1))
        events.append(
            booking_event(booking_id=f"a{person}", emails=[email], version=2, status="cancelled")
        )
    return events


async def measure_bookings(*, customers: int = 1_000) -> ConsumerFigures:
    events = _events(customers)
    async with embedded_stack() as stack:
        settings, producer, store = stack.settings, stack.producer, stack.store
        await stack.fill(events)
        handler = BookingsHandler(store, parse_tenants(TENANTS, environ={}))
        handled = 0
        finished = asyncio.Event()
        first_at = 0.0

        async def counted(batch: list[BookingEvent]) -> None:
            nonlocal handled, first_at
            if handled == 0:
                # Timing starts at the first record: joining the group is a one-off cost.
                first_at = time.perf_counter()
            await handler.handle_batch(batch)
            handled += len(batch)
            if handled >= len(events):
                finished.set()

        async def one(event: BookingEvent) -> None:
            await counted([event])

        # As the worker runs: each poll of a partition recorded together.
        worker: Worker[BookingEvent] = Worker(
            "bookings", settings.topic_bookings, decode_json_model(BookingEvent), one, counted
        )
        runner = ConsumerRunner(
            worker, settings, DeadLetters(producer, settings, "bench"), group_id="bench"
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await finished.wait()
        consumer_seconds = time.perf_counter() - first_at
        stop.set()
        await task

        baseline = store.database["baseline"]
        documents = [
            {"_id": f"{e.tenant_id}:{e.booking.booking_id}:{i}", **e.model_dump(mode="json")}
            for i, e in enumerate(events)
        ]
        started = time.perf_counter()
        for chunk in range(0, len(documents), 500):
            await baseline.bulk_write(
                [
                    UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True)
                    for d in documents[chunk : chunk + 500]
                ],
                ordered=False,
            )
        baseline_seconds = time.perf_counter() - started
    return ConsumerFigures(len(events), consumer_seconds, baseline_seconds, "bulk upserts")
