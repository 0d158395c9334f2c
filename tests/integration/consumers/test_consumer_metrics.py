"""The consumers' metrics: lag that appears while records wait and returns to 0 once they are
handled, the oldest unhandled record's age, and dead letters counted; served by the worker
process on CONSUMER_METRICS_PORT."""

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from devstack import free_port
from prometheus_client import REGISTRY

from consumers.deadletters import DeadLetters
from consumers.runner import ConsumerRunner, Worker, decode_json_model
from contracts import BookingEvent, Settings
from ingest.webhooks.records import to_record
from tests.factories import booking_event
from tests.integration.processes import start_consumer
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def _publish_bookings(producer: AIOKafkaProducer, settings: Settings, count: int) -> None:
    for n in range(count):
        record = to_record(booking_event(booking_id=f"m-{n}"), settings, None)
        await producer.send_and_wait(record.topic, value=record.value, key=record.key)


def _lag(group: str, topic: str, partitions: int) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "threadline_consumer_lag", {"group": group, "topic": topic, "partition": str(p)}
        )
        or 0.0
        for p in range(partitions)
    )


async def test_lag_appears_while_records_wait_and_returns_to_zero(
    settings: Settings, producer: AIOKafkaProducer
) -> None:
    """Five records wait behind a handler that is held: lag 5 and a growing oldest age; once
    released and committed, both are 0 and the five are counted as handled."""
    group = f"metrics-{uuid.uuid4().hex[:6]}"
    topic = settings.topic_bookings
    gate = asyncio.Event()

    async def held(event: BookingEvent) -> None:
        await gate.wait()

    async def held_poll(events: list[BookingEvent]) -> None:
        await gate.wait()

    worker: Worker[BookingEvent] = Worker(
        "bookings", topic, decode_json_model(BookingEvent), held, held_poll
    )
    runner = ConsumerRunner(
        worker,
        settings,
        DeadLetters(producer, settings, group),
        group_id=group,
        lag_interval=0.1,
    )
    await _publish_bookings(producer, settings, 5)
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:

        def waiting() -> bool:
            age = REGISTRY.get_sample_value(
                "threadline_consumer_oldest_unhandled_age_seconds", {"group": group, "topic": topic}
            )
            return _lag(group, topic, 3) == 5 and (age or 0) > 0.2

        await eventually(waiting, within=30, what="lag 5 and an oldest record waiting")
        gate.set()

        def caught_up() -> bool:
            age = REGISTRY.get_sample_value(
                "threadline_consumer_oldest_unhandled_age_seconds", {"group": group, "topic": topic}
            )
            return _lag(group, topic, 3) == 0 and age == 0

        await eventually(caught_up, within=30, what="lag back to 0")
        handled = REGISTRY.get_sample_value(
            "threadline_consumer_records_total",
            {"group": group, "topic": topic, "outcome": "handled"},
        )
        assert handled == 5
    finally:
        stop.set()
        await running


async def test_the_worker_process_serves_a_dead_letter_counted(
    settings: Settings, producer: AIOKafkaProducer, tmp_path: Path
) -> None:
    """``python -m consumers bookings`` serves /metrics on its port: a record that is not JSON
    moves the dead-letter count to 1, the good one is handled, and the lag returns to 0."""
    port = free_port()
    await producer.send_and_wait(settings.topic_bookings, value=b"not json", key=b"acme:x")
    await _publish_bookings(producer, settings, 1)
    worker = start_consumer(
        settings.model_copy(update={"consumer_metrics_port": port}), "bookings", tmp_path
    )
    labels = f'group="threadline-bookings",outcome="{{}}",topic="{settings.topic_bookings}"'
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def counted() -> bool:
                try:
                    text = (await http.get("/metrics")).text
                except httpx.TransportError:
                    return False
                return (
                    f"threadline_consumer_records_total{{{labels.format('dead_lettered')}}} 1.0"
                    in text
                    and f"threadline_consumer_records_total{{{labels.format('handled')}}} 1.0"
                    in text
                )

            await eventually(counted, within=60, what="one dead letter and one handled record")

            async def no_lag() -> bool:
                text = (await http.get("/metrics")).text
                rows = [
                    line
                    for line in text.splitlines()
                    if line.startswith("threadline_consumer_lag{")
                    and settings.topic_bookings in line
                ]
                return len(rows) == 3 and all(line.endswith(" 0.0") for line in rows)

            await eventually(no_lag, within=30, what="lag 0 on the three partitions")
    finally:
        worker.stop()
