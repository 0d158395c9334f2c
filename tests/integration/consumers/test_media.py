"""(v1.1) Media for every channel: each attachment's file fetched from a local server that
answers as its provider documents (tests/media_servers.py names the pages), kept in GridFS,
and served by ``GET /v1/messages/{id}/attachments/{index}``."""

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from consumers.media import MediaChunksHandler, MediaFetcher, MediaHandler
from consumers.messages import MessagesHandler
from contracts import MediaChunkEvent, MessageEvent, Settings, TenantDirectory, message_event_id
from domain.store.database import Store
from tests.conftest import provider_fixture
from tests.integration.api.conftest import ACME, GLOBEX, served
from tests.integration.api.test_events import EventReader
from tests.integration.conftest import GatewayClient, TopicReader
from tests.media_servers import CdnServer, GraphMediaServer, TwilioMediaServer
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GRAPH_TOKEN = "acme-graph-token"
TWILIO_SID = "AC7ef44158dbb01b972d64d7e5c851c8d7"
TWILIO_TOKEN = "12345"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(300_000)
#: The tenants file's ``[email]`` credentials.
EMAIL_BASIC = "Basic " + base64.b64encode(b"inbound:parse-secret").decode()


@pytest.fixture
def graph() -> Iterator[GraphMediaServer]:
    with GraphMediaServer(GRAPH_TOKEN) as server:
        yield server


@pytest.fixture
def cdn_server() -> Iterator[CdnServer]:
    with CdnServer() as server:
        yield server


@pytest.fixture
def twilio(cdn_server: CdnServer) -> Iterator[TwilioMediaServer]:
    with TwilioMediaServer(TWILIO_SID, TWILIO_TOKEN, cdn_server) as server:
        yield server


@pytest.fixture
def media_settings(
    settings: Settings, graph: GraphMediaServer, twilio: TwilioMediaServer
) -> Settings:
    """Provider URLs on the local servers, and retries quick enough for a test."""
    return settings.model_copy(
        update={
            "graph_api_url": graph.base_url,
            "twilio_api_url": twilio.base_url,
            "media_retry_after": timedelta(seconds=0.1),
            "media_fetch_attempts": 3,
            "media_fetch_lease": timedelta(seconds=3),
        }
    )


@contextlib.asynccontextmanager
async def fetching(
    store: Store, tenants: TenantDirectory, settings: Settings
) -> AsyncIterator[MediaFetcher]:
    fetcher = MediaFetcher(store, tenants, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    try:
        yield fetcher
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def with_attachment(
    number: int, attachment: dict[str, Any], *, channel: str = "whatsapp", provider: str = "meta"
) -> MessageEvent:
    mid = f"media.{channel}.{number}"
    return MessageEvent.model_validate(
        {
            "event_id": message_event_id(channel, provider, mid),
            "tenant_id": "acme",
            "channel": channel,
            "provider": provider,
            "direction": "inbound",
            "provider_message_id": mid,
            "occurred_at": "2026-05-01T12:00:00Z",
            "received_at": "2026-05-01T12:00:01Z",
            "participant": {"channel_user_id": "447911123456", "phone": "+447911123456"},
            "business": {"channel_account_id": "106540352242922"},
            "content": {"type": "image", "attachments": [attachment]},
        }
    )


async def state_of(store: Store, event: MessageEvent, index: int = 0) -> str | None:
    record = await store.media.get(f"{event.event_id}:{index}")
    return record.get("state") if record else None


async def until_state(store: Store, event: MessageEvent, wanted: str, within: float = 20) -> None:
    async def reached() -> bool:
        return await state_of(store, event) == wanted

    await eventually(reached, within=within, what=f"attachment {wanted}")


async def stored_messages(
    store: Store, events: list[MessageEvent], tenants: TenantDirectory
) -> None:
    """Store the messages as the messages worker does."""
    await MessagesHandler(store, tenants).handle_batch(list(events))


async def test_whatsapp_image_through_the_graph_api_with_the_token_only_there(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    graph: GraphMediaServer,
    client: GatewayClient,
) -> None:
    graph.add("1003383421387256", PNG, "image/png")
    event = with_attachment(1, {"kind": "image", "provider_media_id": "1003383421387256"})
    await stored_messages(store, [event], tenants)
    await MediaHandler(store, tenants, media_settings).handle_batch([event])
    url = f"/v1/messages/{event.event_id}/attachments/0"
    pending = await client.get(url, headers=ACME)
    assert pending.status_code == 202
    assert pending.headers["retry-after"] == "5"
    async with fetching(store, tenants, media_settings):
        await until_state(store, event, "stored")
    answer = await client.get(url, headers=ACME)
    assert answer.status_code == 200
    assert answer.content == PNG
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith("inline;")
    lookup, download = graph.requests
    assert lookup.path == "/v23.0/1003383421387256"
    assert lookup.headers["authorization"] == f"Bearer {GRAPH_TOKEN}"
    assert download.path.startswith("/whatsapp_business/attachments/")
    assert download.headers["authorization"] == f"Bearer {GRAPH_TOKEN}"
    record = await store.media.get(f"{event.event_id}:0")
    assert record is not None
    assert record.get("sha256") == hashlib.sha256(PNG).hexdigest()
    page = (await client.get("/v1/threads?limit=1", headers=ACME)).json()["items"]
    messages = (await client.get(f"/v1/threads/{page[0]['id']}/messages", headers=ACME)).json()
    [attachment] = messages["items"][0]["content"]["attachments"]
    assert attachment["state"] == "stored"
    assert (await client.get(url, headers=GLOBEX)).status_code == 404


async def test_twilio_mms_with_basic_auth_then_the_cdn_without_it(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    twilio: TwilioMediaServer,
    cdn_server: CdnServer,
    client: GatewayClient,
) -> None:
    media_url = twilio.add("MM800f449d0399ed014aae2bcc0cc2f2ec", "ME1", PNG, "image/jpeg")
    event = with_attachment(
        2,
        {"kind": "image", "url": media_url, "mime_type": "image/jpeg"},
        channel="sms",
        provider="twilio",
    )
    await stored_messages(store, [event], tenants)
    await MediaHandler(store, tenants, media_settings).handle_batch([event])
    async with fetching(store, tenants, media_settings):
        await until_state(store, event, "stored")
    answer = await client.get(f"/v1/messages/{event.event_id}/attachments/0", headers=ACME)
    assert answer.content == PNG
    assert answer.headers["content-type"] == "image/jpeg"
    [asked] = twilio.requests
    expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert asked.headers["authorization"] == expected
    assert cdn_server.requests
    assert all("authorization" not in seen.headers for seen in cdn_server.requests)


async def test_messenger_cdn_url_and_an_expired_one_ends_unavailable_while_others_store(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    cdn_server: CdnServer,
    client: GatewayClient,
) -> None:
    """The expired URL is tried MEDIA_FETCH_ATTEMPTS times, then unavailable with the CDN's
    answer as the reason (410); a message after it is stored meanwhile."""
    expired = cdn_server.add("/v/t1.15752-9/expired.jpg?sig=1", PNG, "image/jpeg", expires_in=0)
    fresh = cdn_server.add("/v/t1.15752-9/fresh.mp4?sig=2", PNG, "video/mp4")
    old = with_attachment(3, {"kind": "image", "url": expired}, channel="messenger")
    new = with_attachment(4, {"kind": "video", "url": fresh}, channel="instagram")
    await stored_messages(store, [old, new], tenants)
    await MediaHandler(store, tenants, media_settings).handle_batch([old, new])
    async with fetching(store, tenants, media_settings):
        await until_state(store, new, "stored")
        await until_state(store, old, "unavailable")
    gone = await client.get(f"/v1/messages/{old.event_id}/attachments/0", headers=ACME)
    assert gone.status_code == 410
    assert "403" in gone.json()["error"]["details"]["reason"]
    asked = [seen for seen in cdn_server.requests if "expired" in seen.path]
    assert len(asked) == media_settings.media_fetch_attempts
    video = await client.get(
        f"/v1/messages/{new.event_id}/attachments/0", headers={**ACME, "Range": "bytes=100-199"}
    )
    assert video.status_code == 206
    assert video.content == PNG[100:200]
    assert video.headers["content-range"] == f"bytes 100-199/{len(PNG)}"
    outside = await client.get(
        f"/v1/messages/{new.event_id}/attachments/0",
        headers={**ACME, "Range": f"bytes={len(PNG)}-"},
    )
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(PNG)}"


async def test_a_refused_token_and_a_missing_media_id_end_unavailable(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    graph: GraphMediaServer,
) -> None:
    graph.add("42", PNG, "image/png")
    graph.refuse("42")
    event = with_attachment(5, {"kind": "image", "provider_media_id": "42"})
    await MediaHandler(store, tenants, media_settings).handle_batch([event])
    async with fetching(store, tenants, media_settings):
        await until_state(store, event, "unavailable")
    record = await store.media.get(f"{event.event_id}:0")
    assert record is not None
    assert "Invalid parameter" in (record.get("reason") or "")
    assert await store.media.file(f"{event.event_id}:0") is None


async def test_redelivered_messages_store_one_file(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    graph: GraphMediaServer,
) -> None:
    graph.add("7", PNG, "image/png")
    event = with_attachment(6, {"kind": "image", "provider_media_id": "7"})
    handler = MediaHandler(store, tenants, media_settings)
    for _ in range(3):
        await handler.handle_batch([event, event])
    async with fetching(store, tenants, media_settings):
        await until_state(store, event, "stored")
    await handler.handle_batch([event])
    assert await store.media.get(f"{event.event_id}:0") is not None
    files = await store.database["media_files.files"].count_documents({})
    assert files == 1
    assert len([r for r in graph.requests if r.path.startswith("/v23.0/")]) == 1


async def test_email_attachment_travels_in_chunks_from_the_webhook(
    settings: Settings,
    store: Store,
    tenants: TenantDirectory,
    client: GatewayClient,
    topic_reader: TopicReader,
) -> None:
    """A Postmark email with a 600 KiB attachment: the gateway publishes its bytes in chunks
    before answering; written in any order and twice, they make the file."""
    body = os.urandom(600 * 1024)
    payload = json.loads(provider_fixture("postmark_inbound.json"))
    payload["Attachments"] = [
        {
            "Name": "tickets.pdf",
            "Content": base64.b64encode(body).decode(),
            "ContentType": "application/pdf",
            "ContentLength": len(body),
        }
    ]
    answer = await client.post(
        "/webhooks/email/postmark",
        content=json.dumps(payload),
        headers={"content-type": "application/json", "authorization": EMAIL_BASIC},
    )
    assert answer.status_code == 200, answer.text
    records = await topic_reader.read(settings.topic_media, expect=3)
    chunks = [MediaChunkEvent.model_validate_json(r.value) for r in records]
    assert [c.part for c in chunks] == [0, 1, 2]
    handler = MediaChunksHandler(store, tenants)
    for chunk in [chunks[2], chunks[0], chunks[2], chunks[1]]:
        await handler.handle(chunk)
    [message] = await topic_reader.read(settings.topic_messages, expect=1)
    event = MessageEvent.model_validate_json(message.value)
    assert event.content.attachments[0].filename == "tickets.pdf"
    await stored_messages(store, [event], tenants)
    await MediaHandler(store, tenants, settings).handle_batch([event])
    assert await state_of(store, event) == "stored"
    answer = await client.get(f"/v1/messages/{event.event_id}/attachments/0", headers=ACME)
    assert answer.content == body
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert 'filename="tickets.pdf"' in answer.headers["content-disposition"]


async def test_a_30_mib_video_is_streamed_not_held(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    cdn_server: CdnServer,
) -> None:
    """Fetching and serving 30 MiB allocates a small fraction of it at any moment (traced
    Python allocations: the worker's download, then the server's answer and this client)."""
    video = os.urandom(30 * 1024 * 1024)
    url = cdn_server.add("/v/big.mp4", video, "video/mp4")
    event = with_attachment(7, {"kind": "video", "url": url}, channel="messenger")
    await stored_messages(store, [event], tenants)
    await MediaHandler(store, tenants, media_settings).handle_batch([event])
    digest = hashlib.sha256(video).hexdigest()
    size = len(video)
    del video
    tracemalloc.start()
    try:
        async with fetching(store, tenants, media_settings):
            await until_state(store, event, "stored", within=120)
        fetch_peak = tracemalloc.get_traced_memory()[1]
        hashed = hashlib.sha256()
        read = 0
        async with (
            served(media_settings) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as http,
        ):
            await http.get("/health")  # the app built and serving before the measure
            tracemalloc.reset_peak()
            serving_from = tracemalloc.get_traced_memory()[0]  # the app itself, held
            url = f"/v1/messages/{event.event_id}/attachments/0"
            async with http.stream("GET", url, headers=ACME) as answer:
                assert answer.status_code == 200
                async for data in answer.aiter_bytes():
                    hashed.update(data)
                    read += len(data)
            serve_peak = tracemalloc.get_traced_memory()[1] - serving_from
    finally:
        tracemalloc.stop()
    assert read == size
    assert hashed.hexdigest() == digest
    assert fetch_peak < 8 * 1024 * 1024, fetch_peak
    assert serve_peak < 8 * 1024 * 1024, serve_peak


async def test_the_live_stream_shows_the_attachment_stored(
    store: Store,
    tenants: TenantDirectory,
    media_settings: Settings,
    graph: GraphMediaServer,
) -> None:
    """A Chats page holding the message sees its image arrive without a reload."""
    graph.add("live-1", PNG, "image/png")
    event = with_attachment(8, {"kind": "image", "provider_media_id": "live-1"})
    await stored_messages(store, [event], tenants)
    await MediaHandler(store, tenants, media_settings).handle_batch([event])
    async with (
        served(media_settings) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", "/v1/events", headers=ACME) as stream,
    ):
        events = EventReader(stream)
        async with fetching(store, tenants, media_settings):
            changed = await events.next_event("message")
    assert changed["data"]["id"] == str(event.event_id)
    assert changed["data"]["content"]["attachments"][0]["state"] == "stored"
