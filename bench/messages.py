"""Messages consumer throughput against bulk inserts, and webhook-to-stored latency.

Throughput: a topic filled with WhatsApp messages from many participants, a third of them
customers already, drained by the messages worker (threads, matching, summaries) and timed
from its first record to its last; the baseline inserts the same number of message documents
into the same database in bulk, in the same run.

Latency: signed webhooks posted at a steady rate, over 16 connections, to a ``python -m ingest``
process, stored by a ``python -m consumers messages`` process; for each, the time from the POST
to the message being stored (both clocks are this machine's).
"""

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import build_request, read_response
from bench.stack import BenchStack, ConsumerFigures, embedded_stack, running_service
from consumers.bookings import BookingsHandler
from consumers.deadletters import DeadLetters
from consumers.messages import MessagesHandler
from consumers.runner import ConsumerRunner, Worker, decode_json_model
from contracts import MessageEvent, parse_tenants
from domain.store.database import Store
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
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Latency:
    """Webhook-to-stored times at a steady offered rate."""

    rate: float
    sent: int
    sent_per_second: float
    refused: int
    latencies: list[float]

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

        return {
            "rate_per_second": self.rate,
            "sent": self.sent,
            "sent_per_second": self.sent_per_second,
            "refused": self.refused,
            "stored": len(ordered),
            "p50_ms": pct(0.5),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
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


async def _latency(stack: BenchStack, rate: float, seconds: float) -> Latency:
    """Signed webhooks at ``rate`` per second for ``seconds`` to a gateway process, stored by
    a ``python -m consumers messages`` process: POST-to-stored time of each message."""
    store = stack.store
    sent: dict[str, datetime] = {}
    with running_service(stack, TENANTS) as port:
        pool = await _connections(port, 16)
        # Warm up: one message all the way through, so the worker has joined its group.
        warm = f"wamid.WARM.{uuid.uuid4().hex[:6]}"
        await _post(pool, port, warm, "447911200000")
        await _stored(store, [f"{warm}.0.0"], total=1, within=60)

        loop = asyncio.get_running_loop()
        count = int(rate * seconds)
        start = loop.time()
        posts = []
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            wamid = f"wamid.L{index}.{uuid.uuid4().hex[:6]}"
            sent[f"{wamid}.0.0"] = datetime.now(UTC)
            posts.append(asyncio.create_task(_post(pool, port, wamid, f"4479112{index % 97:05d}")))
        statuses = await asyncio.gather(*posts)
        sending = loop.time() - start
        stored = await _stored(store, list(sent), total=1 + count, within=max(120.0, seconds * 20))
    latencies = [(at - sent[mid]).total_seconds() for mid, at in stored.items()]
    return Latency(
        rate=rate,
        sent=count,
        sent_per_second=round(count / sending, 1),
        refused=sum(1 for status in statuses if status != 200),
        latencies=latencies,
    )


async def _connections(port: int, size: int) -> asyncio.Queue[Connection]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(size):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    return pool


async def _post(pool: asyncio.Queue[Connection], port: int, wamid: str, wa_id: str) -> int:
    body = whatsapp_text_payload(wamid_prefix=wamid, wa_id=wa_id)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body)}
    reader, writer = await pool.get()
    try:
        writer.write(build_request("127.0.0.1", port, "/webhooks/whatsapp", body, headers))
        return await read_response(reader)
    finally:
        pool.put_nowait((reader, writer))


async def _stored(
    store: Store, ids: list[str], *, total: int, within: float
) -> dict[str, datetime]:
    """When each message was stored, once the collection holds ``total`` messages (or
    ``within`` seconds have passed).

    The database holds nothing else, so waiting polls the cheap collection count; a filtered
    count would scan the collection on every poll and slow the worker being measured.
    """
    messages = store.database["messages"]
    query = {"provider_message_id": {"$in": ids}}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (  # noqa: ASYNC110 - the database is the only place the arrival shows
        await messages.estimated_document_count() < total and loop.time() < deadline
    ):
        await asyncio.sleep(0.2)
    found = await messages.find(query, {"provider_message_id": 1, "stored_at": 1}).to_list()
    return {doc["provider_message_id"]: doc["stored_at"] for doc in found}


async def measure_latency(*, rate: float = 500.0, seconds: float = 10.0) -> Latency:
    async with embedded_stack() as stack:
        return await _latency(stack, rate, seconds)


async def measure_messages(*, participants: int = 150, per_participant: int = 4) -> ConsumerFigures:
    async with embedded_stack() as stack:
        events, consumer_seconds, baseline_seconds = await _throughput(
            stack, participants, per_participant
        )
    return ConsumerFigures(events, consumer_seconds, baseline_seconds, "bulk inserts")
