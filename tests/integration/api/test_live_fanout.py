"""One change stream per gateway process, fanned out: many open streams each get every event,
a tenant's streams are bounded, and the open streams are counted."""

import asyncio
import contextlib
from datetime import timedelta

import httpx
import pytest

from contracts import Settings
from tests.integration.api.conftest import ACME, served
from tests.integration.api.test_events import EventReader, post_whatsapp
from tests.waiting import eventually

pytestmark = pytest.mark.integration

STREAMS = 200


async def open_count(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("threadline_live_streams "):
            return float(line.split()[1])
    raise AssertionError("threadline_live_streams is not exposed")


async def test_every_one_of_many_streams_gets_every_event(
    settings: Settings, consumers: None
) -> None:
    """200 streams of one tenant open at once: each receives all five messages posted, the
    thread list answers meanwhile, and the open streams are counted."""
    fast = settings.model_copy(update={"sse_heartbeat": timedelta(seconds=1)})
    limits = httpx.Limits(max_connections=STREAMS + 10)
    async with (
        served(fast) as url,
        httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http,
        contextlib.AsyncExitStack() as streams,
    ):
        responses = [
            await streams.enter_async_context(http.stream("GET", "/v1/events", headers=ACME))
            for _ in range(STREAMS)
        ]
        assert all(response.status_code == 200 for response in responses)
        assert await open_count(http) == STREAMS
        readers = [EventReader(response) for response in responses]
        texts = [f"fanout-{n}" for n in range(5)]
        for text in texts:
            await post_whatsapp(http, "447911123456", text)

        async def five(reader: EventReader) -> list[str]:
            received: list[str] = []
            while len(received) < len(texts):
                event = await reader.next_event("message", within=60)
                received.append(event["data"]["content"]["text"])
            return received

        listing = await http.get("/v1/threads", headers=ACME)
        assert listing.status_code == 200
        everything = await asyncio.gather(*(five(reader) for reader in readers))
        assert all(sorted(received) == texts for received in everything)


async def test_a_tenants_streams_are_bounded(settings: Settings) -> None:
    """Past ``SSE_STREAMS_PER_TENANT`` on one process a new stream is 429; one closing makes
    room again."""
    bounded = settings.model_copy(update={"sse_streams_per_tenant": 2})
    async with served(bounded) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        async with (
            http.stream("GET", "/v1/events", headers=ACME) as first,
            http.stream("GET", "/v1/events", headers=ACME) as second,
        ):
            assert (first.status_code, second.status_code) == (200, 200)
            refused = await http.get("/v1/events", headers=ACME)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "too_many_requests"

        async def room() -> bool:
            return await open_count(http) == 0

        await eventually(room, within=10, what="the two streams to be closed")
        async with http.stream("GET", "/v1/events", headers=ACME) as again:
            assert again.status_code == 200
