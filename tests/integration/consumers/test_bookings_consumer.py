"""The bookings worker through Kafka: two consumers racing, dead letters, held offsets."""

import asyncio
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from consumers.bookings import BookingsHandler
from consumers.deadletters import DeadLetters
from consumers.runner import (
    ConsumerRunner,
    RecordOutcome,
    RetryPolicy,
    Worker,
    decode_json_model,
)
from contracts import BookingEvent, Settings, TenantDirectory
from domain.store.database import Store
from ingest.webhooks.records import to_record
from tests.factories import booking_event
from tests.integration.conftest import TopicReader
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GROUP = "threadline-bookings-test"


def make_runner(
    *,
    settings: Settings,
    store: Store,
    tenants: TenantDirectory,
    producer: AIOKafkaProducer,
    policy: RetryPolicy | None = None,
) -> ConsumerRunner[BookingEvent]:
    handler = BookingsHandler(store, tenants)
    worker: Worker[BookingEvent] = Worker(
        name="bookings",
        topic=settings.topic_bookings,
        decode=decode_json_model(BookingEvent),
        handle=handler.handle,
        handle_batch=handler.handle_batch,
    )
    return ConsumerRunner(
        worker, settings, DeadLetters(producer, settings, GROUP), group_id=GROUP, policy=policy
    )


async def publish(
    producer: AIOKafkaProducer,
    settings: Settings,
    event: BookingEvent,
    *,
    partition: int | None = None,
) -> None:
    record = to_record(event, settings, "corr-test")
    await producer.send_and_wait(
        record.topic,
        value=record.value,
        key=record.key,
        headers=record.headers,
        partition=partition,
    )


async def committed(settings: Settings, partitions: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=GROUP)
    await consumer.start()
    try:
        total = 0
        for partition in range(partitions):
            offset = await consumer.committed(TopicPartition(settings.topic_bookings, partition))
            total += offset or 0
        return total
    finally:
        await consumer.stop()


async def test_two_consumers_racing_on_new_customers_create_one_profile_each(
    settings: Settings, store: Store, tenants: TenantDirectory, producer: AIOKafkaProducer
) -> None:
    """Two bookings of each new customer on different partitions, two consumers: no splits."""
    people = 15
    for person in range(people):
        email = f"person{person}@example.com"
        for copy in range(2):
            await publish(
                producer,
                settings,
                booking_event(booking_id=f"p{person}-b{copy}", emails=[email], name=f"P{person}"),
                partition=copy,  # the two bookings of a person are on different partitions
            )
    stop = asyncio.Event()
    runners = [
        make_runner(settings=settings, store=store, tenants=tenants, producer=producer)
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(runner.run(stop)) for runner in runners]

    async def all_stored() -> bool:
        return await store.database["bookings"].count_documents({}) == people * 2

    try:
        await eventually(all_stored, within=60, what=f"{people * 2} stored bookings")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    profiles = await store.database["customers"].find({}).to_list()
    assert len(profiles) == people
    assert sorted(p["analytics"]["total_bookings"] for p in profiles) == [2] * people
    assert await committed(settings, 3) == people * 2


async def test_poison_records_are_dead_lettered_and_committed(
    settings: Settings,
    store: Store,
    tenants: TenantDirectory,
    producer: AIOKafkaProducer,
    topic_reader: TopicReader,
) -> None:
    """Invalid JSON and an unknown tenant go to the dead-letter topic with the error."""
    await producer.send_and_wait(settings.topic_bookings, value=b"{not json", key=b"x", partition=0)
    await publish(producer, settings, booking_event(tenant_id="nobody"), partition=0)
    await publish(producer, settings, booking_event(booking_id="good"), partition=0)
    stop = asyncio.Event()
    runner = make_runner(
        settings=settings,
        store=store,
        tenants=tenants,
        producer=producer,
        policy=RetryPolicy(max_attempts=2, initial_wait=0.01),
    )
    task = asyncio.create_task(runner.run(stop))

    async def good_stored() -> bool:
        return await store.bookings.get("acme", "good") is not None

    try:
        await eventually(good_stored, within=30, what="the good booking stored")
        letters = await topic_reader.read(settings.topic_consumers_deadletter, expect=2)
    finally:
        stop.set()
        await task
    assert len(letters) == 2
    invalid, unknown = letters
    assert invalid.value == b"{not json"
    assert invalid.key == b"x"
    headers = dict(unknown.headers)
    assert b"unknown tenant" in headers["dlq_error"]
    assert headers["dlq_error_type"] == b"PoisonMessage"
    assert headers["dlq_source_topic"] == settings.topic_bookings.encode()
    assert headers["schema"] == b"booking.event/1"  # the original headers are kept
    assert json.loads(unknown.value)["tenant_id"] == "nobody"
    assert await committed(settings, 1) == 3


async def test_database_down_holds_the_offset(
    settings: Settings, tenants: TenantDirectory, producer: AIOKafkaProducer
) -> None:
    """With MongoDB unreachable the record is retried, then left for later, not dead-lettered."""
    from devstack import free_port

    dead: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        serverSelectionTimeoutMS=100,
    )
    runner = make_runner(
        settings=settings,
        store=Store.open(dead, "unreachable"),
        tenants=tenants,
        producer=producer,
        policy=RetryPolicy(transient_budget=0.5, initial_wait=0.05, max_wait=0.1),
    )
    event = booking_event()
    record = to_record(event, settings, None)

    class Consumed:
        topic, partition, offset = settings.topic_bookings, 0, 7
        key, value, headers = record.key, record.value, record.headers

    outcome = await runner.process(Consumed())
    await dead.close()
    assert outcome is RecordOutcome.RETRY_LATER
