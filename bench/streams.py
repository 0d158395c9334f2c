"""Live updates to many Chats pages at once: ``streams`` open ``/v1/events`` streams of one
tenant on a ``python -m ingest`` process, five messages posted, stored by a
``python -m consumers messages`` process. For each stream, whether it received all five, and
the time from the first POST until every stream had them; the baseline is one stream, in the
same run.
"""

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.messages import TENANTS
from bench.stack import BenchStack, embedded_stack, running_service
from tests.signing import meta_signature, whatsapp_text_payload

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "bench-key"
MESSAGES = 5


@dataclass(frozen=True)
class Fanout:
    streams: int
    complete: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "complete": self.complete,
            "share": round(self.complete / self.streams, 3),
            "seconds": round(self.seconds, 2),
        }


async def _received(response: httpx.Response, within: float) -> int:
    """How many ``message`` events the stream delivers (up to five) within ``within`` s."""
    seen = 0
    try:
        async with asyncio.timeout(within):
            async for line in response.aiter_lines():
                if line == "event: message":
                    seen += 1
                    if seen == MESSAGES:
                        break
    except TimeoutError:
        pass
    return seen


async def _fanout(port: int, streams: int, round_: int) -> Fanout:
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    limits = httpx.Limits(max_connections=streams + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        opened = [
            await http.send(http.build_request("GET", "/v1/events", headers=headers), stream=True)
            for _ in range(streams)
        ]
        try:
            assert all(response.status_code == 200 for response in opened)
            readers = [asyncio.create_task(_received(r, within=60)) for r in opened]
            started = time.perf_counter()
            for n in range(MESSAGES):
                body = whatsapp_text_payload(wamid_prefix=f"wamid.F{round_}.{n}", text=f"m{n}")
                answer = await http.post(
                    "/webhooks/whatsapp",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": meta_signature(body),
                    },
                )
                assert answer.status_code == 200
            counts = await asyncio.gather(*readers)
            seconds = time.perf_counter() - started
        finally:
            for response in opened:
                await response.aclose()
    return Fanout(streams, sum(1 for count in counts if count == MESSAGES), seconds)


async def _measure(stack: BenchStack, streams: int) -> tuple[Fanout, Fanout]:
    tenants = TENANTS.replace(
        'default_region = "GB"', f'default_region = "GB"\napi_keys = ["{API_KEY}"]'
    )
    with running_service(stack, tenants) as port:
        await _fanout(port, 1, 0)  # the worker joins its group, the feed opens once
        alone = await _fanout(port, 1, 1)
        many = await _fanout(port, streams, 2)
    return alone, many


async def measure_streams(*, streams: int = 200) -> dict[str, Any]:
    async with embedded_stack() as stack:
        alone, many = await _measure(stack, streams)
    return {
        "alone": alone.as_dict(),
        "many": many.as_dict(),
        "seconds_ratio": round(many.seconds / alone.seconds, 2),
    }
