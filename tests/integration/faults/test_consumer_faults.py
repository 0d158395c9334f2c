"""Consumer processes killed, and MongoDB restarted, under load: no loss, no duplicates."""

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from devstack import EmbeddedMongo
from pymongo import AsyncMongoClient

from contracts import Settings
from domain.store.database import Store
from ingest.webhooks.records import to_record
from tests.factories import booking_event, message_event
from tests.integration.processes import start_consumer
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PARTICIPANTS = 25


def messages(count: int) -> list[Any]:
    return [
        message_event(
            provider_message_id=f"wamid.K{n}",
            channel_user_id=f"4479111{n % PARTICIPANTS:05d}",
            phone=f"+4479111{n % PARTICIPANTS:05d}",
        )
        for n in range(count)
    ]


async def produce(settings: Settings, events: list[Any], *, per_second: float = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            record = to_record(event, settings, None)
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=record.headers
            )
            if per_second:
                await asyncio.sleep(1 / per_second)
    finally:
        await producer.stop()


async def count(store: Store, collection: str, at_least: int) -> int | None:
    stored: int = await store.database[collection].count_documents({})
    return stored if stored >= at_least else None


async def assert_threads_add_up(store: Store, total: int) -> None:
    """Every thread's summary counts its stored messages (summaries follow the inserts)."""

    async def counted() -> list[dict[str, Any]] | None:
        threads = await store.database["threads"].find({}).to_list()
        summed = sum(thread["message_count"] for thread in threads)
        return threads if summed == total else None

    threads = await eventually(counted, within=30, what="thread counts adding up")
    assert len(threads) == PARTICIPANTS
    for thread in threads:
        stored = await store.database["messages"].count_documents({"thread_id": thread["_id"]})
        assert thread["message_count"] == stored


async def test_messages_consumer_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """SIGKILL while a backlog is being stored; after a restart every message is stored
    once and every thread's count matches its messages."""
    total = 600
    await produce(settings, messages(total))
    consumer = start_consumer(settings, "messages", tmp_path)
    try:
        stored = await eventually(
            lambda: count(store, "messages", 1), within=60, what="a first stored message"
        )
        assert stored < total, "killed too late to be mid-backlog"
        consumer.signal(signal.SIGKILL)
        assert consumer.process is not None
        consumer.process.wait(10)

        consumer = start_consumer(settings, "messages", tmp_path)
        await eventually(
            lambda: count(store, "messages", total), within=120, what=f"{total} stored messages"
        )
        assert await store.database["messages"].count_documents({}) == total
        await assert_threads_add_up(store, total)
    finally:
        consumer.stop()


async def test_bookings_consumer_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """SIGKILL mid-backlog (polls of up to 200 are recorded together, so the backlog is several
    polls long, and the kill may land between a poll's writes); after a restart every booking
    is stored once, one profile per person, and each profile counts exactly its bookings."""
    people = 400
    events = [
        booking_event(
            booking_id=f"b-{person}-{n}",
            name=f"Person {person}",
            emails=[f"person{person}@example.com"],
        )
        for n in range(2)
        for person in range(people)
    ]
    await produce(settings, events)
    consumer = start_consumer(settings, "bookings", tmp_path)
    try:
        stored = await eventually(
            lambda: count(store, "bookings", 1), within=60, what="a first stored booking"
        )
        assert stored < len(events), "killed too late to be mid-backlog"
        consumer.signal(signal.SIGKILL)
        assert consumer.process is not None
        consumer.process.wait(10)

        consumer = start_consumer(settings, "bookings", tmp_path)
        await eventually(
            lambda: count(store, "bookings", len(events)),
            within=120,
            what=f"{len(events)} stored bookings",
        )
        assert await store.database["bookings"].count_documents({}) == len(events)

        async def settled() -> list[dict[str, Any]] | None:
            profiles = await store.database["customers"].find({}).to_list()
            totals = [p["analytics"]["total_bookings"] for p in profiles]
            return profiles if totals == [2] * people else None

        await eventually(settled, within=30, what="two bookings counted on every profile")
    finally:
        consumer.stop()


async def test_consumers_resume_after_mongodb_restarts_under_load(
    settings: Settings, tmp_path: Path
) -> None:
    """MongoDB stopped and restarted (same data directory) while messages keep arriving:
    the consumers hold their offsets, then store everything once it is back."""
    mongo = EmbeddedMongo(storage=str(tmp_path / "mongo"), log=tmp_path / "mongo.log")
    mongo.start()
    settings = settings.model_copy(update={"mongo_uri": mongo.uri})
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri, tz_aware=True)
    store = Store.open(client, settings.mongo_db)
    await store.ensure_indexes()
    consumer = start_consumer(settings, "all", tmp_path)
    total = 300
    try:
        load = asyncio.create_task(produce(settings, messages(total), per_second=60))
        await eventually(lambda: count(store, "messages", 20), within=60, what="20 messages stored")
        mongo.stop()
        await asyncio.sleep(3)
        mongo = EmbeddedMongo(mongo.port, storage=str(tmp_path / "mongo"), log=mongo.log)
        mongo.start()
        await load
        await eventually(
            lambda: count(store, "messages", total), within=120, what=f"{total} stored messages"
        )
        assert await store.database["messages"].count_documents({}) == total
        await assert_threads_add_up(store, total)
    finally:
        consumer.stop()
        await client.close()
        mongo.stop()
