"""One big authentic webhook, and the ordinary messages that arrive behind it.

A ``python -m ingest`` process and a ``python -m consumers messages`` process share the embedded
broker and database, which hold ``customers`` profiles already. Three measurements, in order:

- alone: six ordinary messages (six new senders) posted to an idle service, the time from the
  first POST until all six are stored; the baseline;
- behind a big one: one signed WhatsApp webhook carrying ``senders`` messages from as many new
  senders, then the same six ordinary messages; the time until the six are stored, and until the
  big one is;
- beyond reason: a webhook of ``beyond`` messages (more than ``MAX_EVENTS_PER_REQUEST``), which is
  dead-lettered whole, then six ordinary messages.

The ratio is the time behind each big one against the time alone.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.messages import TENANTS, _connections, _post
from bench.stack import BenchStack, embedded_stack, running_service
from consumers.bookings import BookingsHandler
from contracts import parse_tenants
from tests.factories import booking_event
from tests.signing import meta_signature

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Crowd:
    customers: int
    senders: int
    beyond: int
    alone_seconds: float
    behind_seconds: float
    big_stored_seconds: float
    behind_beyond_seconds: float
    dead_lettered: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "senders": self.senders,
            "beyond": self.beyond,
            "alone_seconds": round(self.alone_seconds, 2),
            "behind_seconds": round(self.behind_seconds, 2),
            "big_stored_seconds": round(self.big_stored_seconds, 2),
            "behind_ratio": round(self.behind_seconds / self.alone_seconds, 2),
            "behind_beyond_seconds": round(self.behind_beyond_seconds, 2),
            "behind_beyond_ratio": round(self.behind_beyond_seconds / self.alone_seconds, 2),
            "beyond_dead_lettered": self.dead_lettered,
        }


def crowd_payload(senders: int, prefix: str) -> bytes:
    """A WhatsApp webhook with one text from each of ``senders`` different people."""
    numbers = [f"4479{index:08d}" for index in range(senders)]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": f"Guest {n}"}, "wa_id": n} for n in numbers],
        "messages": [
            {
                "from": number,
                "id": f"{prefix}.{index}",
                "timestamp": "1749416383",
                "type": "text",
                "text": {"body": "Hello, is there space on Saturday?"},
            }
            for index, number in enumerate(numbers)
        ],
    }
    entry = {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def _seed(stack: BenchStack, customers: int) -> None:
    handler = BookingsHandler(stack.store, parse_tenants(TENANTS, environ={}))
    for person in range(customers):
        await handler.handle(
            booking_event(
                booking_id=f"seed{person}",
                emails=[f"seed{person}@example.com"],
                phone=f"+4479113{person:05d}",
            )
        )


async def _post_body(port: int, body: bytes) -> int:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body)}
    async with httpx.AsyncClient(timeout=120) as client:
        answer = await client.post(
            f"http://127.0.0.1:{port}/webhooks/whatsapp", content=body, headers=headers
        )
    return answer.status_code


async def _until_stored(stack: BenchStack, ids: list[str], within: float) -> float:
    """Seconds until every message of ``ids`` is stored (``within`` if not)."""
    messages = stack.store.database["messages"]
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        found = await messages.count_documents({"provider_message_id": {"$in": ids}})
        if found == len(ids):
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


async def _ordinary(stack: BenchStack, port: int, label: str, within: float) -> float:
    """Post six messages from six new senders; seconds until all six are stored."""
    pool = await _connections(port, 6)
    wamids = [f"wamid.{label}{n}.{uuid.uuid4().hex[:6]}" for n in range(6)]
    started = time.perf_counter()
    await asyncio.gather(
        *(_post(pool, port, wamid, f"4479114{n:05d}") for n, wamid in enumerate(wamids))
    )
    await _until_stored(stack, [f"{wamid}.0.0" for wamid in wamids], within)
    return time.perf_counter() - started


async def measure_crowd(
    *, customers: int = 1_000, senders: int = 1_000, beyond: int = 2_500
) -> Crowd:
    async with embedded_stack() as stack:
        await _seed(stack, customers)
        with running_service(stack, TENANTS) as port:
            await _ordinary(stack, port, "WARM", within=60)
            alone = await _ordinary(stack, port, "ALONE", within=60)

            big = f"wamid.BIG{uuid.uuid4().hex[:6]}"
            started = time.perf_counter()
            assert await _post_body(port, crowd_payload(senders, big)) == 200
            behind = await _ordinary(stack, port, "BEHIND", within=600)
            big_ids = [f"{big}.{index}" for index in range(senders)]
            remaining = 600 - (time.perf_counter() - started)
            await _until_stored(stack, big_ids, remaining)
            big_stored = time.perf_counter() - started

            huge = f"wamid.HUGE{uuid.uuid4().hex[:6]}"
            assert await _post_body(port, crowd_payload(beyond, huge)) == 200
            behind_beyond = await _ordinary(stack, port, "BEYOND", within=600)
            kept = await stack.store.database["messages"].count_documents(
                {"provider_message_id": f"{huge}.0"}
            )
    return Crowd(
        customers=customers,
        senders=senders,
        beyond=beyond,
        alone_seconds=alone,
        behind_seconds=behind,
        big_stored_seconds=big_stored,
        behind_beyond_seconds=behind_beyond,
        dead_lettered=kept == 0,
    )
