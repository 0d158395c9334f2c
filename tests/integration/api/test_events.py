"""``/v1/events``: webhooks at the gateway appear on an open Server-Sent Events stream."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contracts import Settings
from tests.integration.api.conftest import ACME, GLOBEX, served
from tests.signing import meta_signature, whatsapp_text_payload

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[str]:
    """The gateway on a real server, with quick heartbeats."""
    async with served(settings.model_copy(update={"sse_heartbeat": timedelta(seconds=0.5)})) as url:
        yield url


class EventReader:
    """Reads one open stream: events (with their ids) and comment lines, as they come.

    A read that times out stays pending for the next one, so the stream can still be read
    after a TimeoutError (cancelling the line iterator itself would close it)."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self._pending: asyncio.Future[str] | None = None

    async def _line(self) -> str:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._lines))
        try:
            line = await asyncio.shield(self._pending)
        except StopAsyncIteration:
            raise AssertionError("stream ended") from None
        self._pending = None
        return line

    async def next_event(self, kind: str, *, within: float = 30.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            fields: dict[str, str] = {}
            while True:
                line = await self._line()
                if line.startswith(":"):
                    continue
                if line == "":
                    if fields.get("event") == kind:
                        return {"id": fields["id"], "data": json.loads(fields["data"])}
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")

    async def next_comment(self, text: str, *, within: float) -> None:
        async with asyncio.timeout(within):
            while True:
                line = await self._line()
                if line.startswith(":") and line[1:].strip() == text:
                    return


#: The WhatsApp numbers of the two tenants in tests/fixtures/tenants.toml.
ACME_NUMBER_ID = "106540352242922"
GLOBEX_NUMBER_ID = "222222222222222"


async def post_whatsapp(
    http: httpx.AsyncClient, wa_id: str, text: str, *, phone_number_id: str = ACME_NUMBER_ID
) -> None:
    body = whatsapp_text_payload(
        phone_number_id=phone_number_id, wa_id=wa_id, text=text, wamid_prefix=f"wamid.{text}"
    )
    response = await http.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert response.status_code == 200


async def test_webhook_appears_and_reconnect_resumes(gateway: str, consumers: None) -> None:
    """A webhook shows up as a message and a thread event; a reconnect with Last-Event-ID
    gets the message posted while it was away; heartbeats keep a quiet stream alive."""
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        async with http.stream("GET", "/v1/events", headers=ACME) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = EventReader(response)
            await post_whatsapp(http, "447911123456", "first")
            message = await events.next_event("message")
            assert message["data"]["content"]["text"] == "first"
            thread = await events.next_event("thread")
            assert thread["data"]["participant"]["phone"] == "+447911123456"
            assert thread["data"]["last_message"]["preview"] == "first"
            last_seen = thread["id"]
            await events.next_comment("heartbeat", within=5)

        await post_whatsapp(http, "447911123456", "while away")
        resumed_headers = {**ACME, "Last-Event-ID": last_seen}
        async with http.stream("GET", "/v1/events", headers=resumed_headers) as response:
            assert response.status_code == 200
            missed = await EventReader(response).next_event("message")
            assert missed["data"]["content"]["text"] == "while away"


async def test_other_tenants_events_are_not_sent(gateway: str, consumers: None) -> None:
    """A stream opened with another tenant's key sees nothing of this tenant's messages,
    though they reach this tenant's stream, and it does get its own tenant's next message."""
    async with (
        httpx.AsyncClient(base_url=gateway, timeout=30) as http,
        http.stream("GET", "/v1/events", headers=GLOBEX) as response,
        http.stream("GET", "/v1/events", headers=ACME) as acme_response,
    ):
        events = EventReader(response)
        await post_whatsapp(http, "447911123456", "private")
        # Control: the message was stored and streamed, so the silence below is a refusal.
        private = await EventReader(acme_response).next_event("message")
        assert private["data"]["content"]["text"] == "private"
        with pytest.raises(TimeoutError):
            await events.next_event("message", within=4)
        # Control: the stream is alive, and the first message it sends is its tenant's own.
        await post_whatsapp(http, "447700900123", "own", phone_number_id=GLOBEX_NUMBER_ID)
        own = await events.next_event("message")
        assert own["data"]["content"]["text"] == "own"


async def test_stream_refuses_bad_key_and_bad_resume_token(gateway: str) -> None:
    """No key: 401 before any stream; a Last-Event-ID that is no resume token: 400."""
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as http:
        assert (await http.get("/v1/events")).status_code == 401
        bad = await http.get("/v1/events", headers={**ACME, "Last-Event-ID": "zz-not-a-token"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "bad_request"
