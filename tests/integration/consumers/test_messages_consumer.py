"""The messages worker through Kafka: whole polls in bulk, poison isolated, nothing lost."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from consumers.deadletters import DeadLetters
from consumers.runner import ConsumerRunner, RetryPolicy
from consumers.workers import Resources, worker
from contracts import Settings, TenantDirectory
from domain.store.database import Store
from ingest.webhooks.records import to_record
from tests.factories import edit_event, message_event
from tests.integration.conftest import TopicReader
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def messages_worker(
    settings: Settings, store: Store, tenants: TenantDirectory, producer: AIOKafkaProducer
) -> AsyncIterator[None]:
    """The messages worker running on the test's topics, dead-lettering at the first failure."""
    resources = Resources(settings, tenants, None, store, producer, None)  # type: ignore[arg-type]
    runner = ConsumerRunner(
        worker("messages", resources),
        settings,
        DeadLetters(producer, settings, "messages-test"),
        group_id="messages-test",
        policy=RetryPolicy(max_attempts=1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def test_a_poll_with_a_poison_record_dead_letters_only_it(
    settings: Settings, store: Store, tenants: TenantDirectory, topic_reader: TopicReader
) -> None:
    """Twenty messages and one for an unknown tenant on one partition: twenty stored, one
    dead-lettered, the offsets committed past all of them."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        events = [message_event(provider_message_id=f"m{i}") for i in range(20)]
        events.insert(7, message_event(provider_message_id="bad", tenant_id="nobody"))
        for event in events:
            record = to_record(event, settings, None)
            await producer.send(record.topic, value=record.value, key=record.key, partition=0)
        await producer.flush()
        async with messages_worker(settings, store, tenants, producer):
            [letter] = await topic_reader.read(settings.topic_consumers_deadletter, expect=1)

            async def all_stored() -> bool:
                return await store.database["messages"].count_documents({}) >= 20

            await eventually(all_stored, within=20, what="20 stored messages")
        assert json.loads(letter.value)["tenant_id"] == "nobody"
        [thread] = await store.database["threads"].find({}).to_list()
        assert thread["message_count"] == 20
    finally:
        await producer.stop()


async def test_edits_travel_with_their_messages_and_an_unknown_schema_is_dead_lettered(
    settings: Settings, store: Store, tenants: TenantDirectory, topic_reader: TopicReader
) -> None:
    """On one partition: an edit, then its message, then a record of a schema no consumer
    reads. The message is stored as edited; the stranger is dead-lettered, naming its schema."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        edit = to_record(edit_event(target="m1", text="Edited"), settings, None)
        original = to_record(message_event(provider_message_id="m1"), settings, None)
        for record in (edit, original):
            await producer.send(
                record.topic,
                value=record.value,
                key=record.key,
                headers=record.headers,
                partition=0,
            )
        await producer.send(
            settings.topic_messages,
            value=original.value,
            key=original.key,
            headers=[("schema", b"chat.message/9")],
            partition=0,
        )
        await producer.flush()
        async with messages_worker(settings, store, tenants, producer):
            [letter] = await topic_reader.read(
                settings.topic_consumers_deadletter, expect=1, within=60
            )

            async def edited() -> bool:
                found = await store.database["messages"].find_one({"provider_message_id": "m1"})
                return bool(found and found["content"]["text"] == "Edited")

            await eventually(edited, within=20, what="the message stored as edited")
        reason = dict(letter.headers or [])
        assert b"chat.message/9" in b" ".join(reason.values()), reason
    finally:
        await producer.stop()
