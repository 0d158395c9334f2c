"""Messages consumer throughput against bulk inserts, and webhook-to-stored latency.

Throughput: a topic filled with WhatsApp messages from many participants, a third of them
customers already, drained by the messages worker (threads, matching, summaries) and timed
from its first record to its last; the baseline inserts the same number of message documents
into the same database in bulk, in the same run.

Latency: signed webhooks posted to a running gateway at a steady rate while the worker runs;
for each, the time from the POST to the message being stored.
"""

import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from devstack import ManagedProcess, free_port, wait_for_port

from bench.load import build_request
from bench.stack import BenchStack, embedded_stack
from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from consumers.runner import ConsumerRunner, DeadLetters, Worker, decode_json_model
from consumers.store.database import Store
from contracts import MessageEvent, Settings, parse_tenants
from tests.factories import booking_event, message_event
from tests.signing import META_APP_SECRET, meta_signature, whatsapp_text_payload

TENANTS = f"""
[meta]
app_secret = "{META_APP_SECRET}"
verify_token = "bench"

[[tenants]]
id = "acme"
name = "Acme"
default_region = "GB"
whatsapp_phone_number_ids = ["106540352242922"]
"""
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class MessageFigures:
    events: int
    consumer_seconds: float
    baseline_seconds: float
    rate: float
    latencies: list[float]

    def as_dict(self) -> dict[str, Any]:
        consumer_rate = self.events / self.consumer_seconds
        baseline_rate = self.events / self.baseline_seconds
        ordered = sorted(self.latencies)

        def pct(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

        return {
            "events": self.events,
            "consumer_events_per_second": round(consumer_rate, 1),
            "bulk_inserts_per_second": round(baseline_rate, 1),
            "ratio": round(consumer_rate / baseline_rate, 4),
            "end_to_end": {
                "rate_per_second": self.rate,
                "messages": len(ordered),
                "p50_ms": pct(0.5),
                "p95_ms": pct(0.95),
                "p99_ms": pct(0.99),
            },
        }


def _phone(person: int) -> str:
    return f"+4479112{person:05d}"


async def _throughput(
    stack: BenchStack, participants: int, per_participant: int
) -> tuple[int, float, float]:
    settings, store, producer = stack.settings, stack.store, stack.producer
    tenants = parse_tenants(TENANTS, environ={})
    bookings = BookingsHandler(store, tenants)
    for person in range(0, participants, 3):
        await bookings.handle(
            booking_event(booking_id=f"k{person}", emails=[], phone=_phone(person))
        )
    events = [
        message_event(
            provider_message_id=f"wamid.T{person}.{n}",
            channel_user_id=_phone(person)[1:],
            phone=_phone(person),
            text=f"message {n}",
        )
        for n in range(per_participant)
        for person in range(participants)
    ]
    await stack.fill(events)
    handler = MessagesHandler(store, tenants)
    seen = 0
    first_at = 0.0
    finished = asyncio.Event()

    async def counted(batch: list[MessageEvent]) -> None:
        nonlocal seen, first_at
        if seen == 0:
            first_at = time.perf_counter()
        await handler.handle_batch(batch)
        seen += len(batch)
        if seen >= len(events):
            finished.set()

    async def one(event: MessageEvent) -> None:
        await counted([event])

    worker: Worker[MessageEvent] = Worker(
        "messages", settings.topic_messages, decode_json_model(MessageEvent), one, counted
    )
    runner = ConsumerRunner(worker, settings, DeadLetters(producer, settings, "b"), group_id="b")
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await finished.wait()
    consumer_seconds = time.perf_counter() - first_at
    stop.set()
    await task
    stored = await store.database["messages"].find({}, {"_id": 0}).to_list()
    baseline = store.database["baseline_messages"]
    started = time.perf_counter()
    for chunk in range(0, len(stored), 500):
        await baseline.insert_many(stored[chunk : chunk + 500], ordered=False)
    return len(events), consumer_seconds, time.perf_counter() - started


async def _latency(
    settings: Settings, store: Store, producer: AIOKafkaProducer, rate: float, seconds: float
) -> list[float]:
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    (workdir / "tenants.toml").write_text(TENANTS)
    port = free_port()
    env = {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "THREADLINE_MONGO_URI": settings.mongo_uri,
        "THREADLINE_TENANTS_FILE": str(workdir / "tenants.toml"),
        "THREADLINE_SPOOL_DIR": str(workdir / "spool"),
        "THREADLINE_TOPIC_MESSAGES": settings.topic_messages,
        "THREADLINE_HTTP_PORT": str(port),
        "THREADLINE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    gateway = ManagedProcess("gateway", [sys.executable, "-m", "ingest"])
    gateway.start(env=env)
    handler = MessagesHandler(store, parse_tenants(TENANTS, environ={}))
    worker: Worker[MessageEvent] = Worker(
        "messages",
        settings.topic_messages,
        decode_json_model(MessageEvent),
        handler.handle,
        handler.handle_batch,
    )
    runner = ConsumerRunner(worker, settings, DeadLetters(producer, settings, "l"), group_id="l")
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    sent: dict[str, datetime] = {}
    try:
        assert gateway.process is not None
        wait_for_port(port, timeout=30, process=gateway.process)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        loop = asyncio.get_running_loop()
        # Warm up: one message all the way through, so the worker has joined its group.
        warm = whatsapp_text_payload(wamid_prefix=f"wamid.WARM.{uuid.uuid4().hex[:6]}")
        writer.write(
            build_request(
                "127.0.0.1",
                port,
                "/webhooks/whatsapp",
                warm,
                {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(warm)},
            )
        )
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]))
        warm_deadline = loop.time() + 60
        while (  # noqa: ASYNC110 - the database is the only place the arrival shows
            await store.database["messages"].count_documents(
                {"provider_message_id": {"$regex": "^wamid.WARM"}}
            )
            == 0
            and loop.time() < warm_deadline
        ):
            await asyncio.sleep(0.2)
        writer.close()
        # A fresh connection: the server closes idle keep-alive connections.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count = int(rate * seconds)
        start = loop.time()
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            wamid = f"wamid.L{index}.{uuid.uuid4().hex[:6]}"
            body = whatsapp_text_payload(wamid_prefix=wamid, wa_id=f"4479112{index % 97:05d}")
            request = build_request(
                "127.0.0.1",
                port,
                "/webhooks/whatsapp",
                body,
                {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body)},
            )
            sent[f"{wamid}.0.0"] = datetime.now(UTC)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        writer.close()
        messages = store.database["messages"]
        deadline = loop.time() + 60
        # The database is the only place the arrival shows; poll it.
        while (  # noqa: ASYNC110
            await messages.count_documents({"provider_message_id": {"$in": list(sent)}}) < len(sent)
            and loop.time() < deadline
        ):
            await asyncio.sleep(0.5)
        stored = await messages.find(
            {"provider_message_id": {"$in": list(sent)}}, {"provider_message_id": 1, "stored_at": 1}
        ).to_list()
    finally:
        stop.set()
        await task
        gateway.stop()
    return [(doc["stored_at"] - sent[doc["provider_message_id"]]).total_seconds() for doc in stored]


async def measure_messages(
    *, participants: int = 150, per_participant: int = 4, rate: float = 10.0, seconds: float = 10.0
) -> MessageFigures:
    async with embedded_stack() as stack:
        events, consumer_seconds, baseline_seconds = await _throughput(
            stack, participants, per_participant
        )
        latencies = await _latency(stack.settings, stack.store, stack.producer, rate, seconds)
    return MessageFigures(events, consumer_seconds, baseline_seconds, rate, latencies)
