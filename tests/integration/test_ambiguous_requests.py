"""A request that could be read two ways is refused (400) or dead-lettered with its reason,
never guessed at; and no answer invites content sniffing."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts import Settings
from tests.integration.conftest import GatewayClient, TopicReader
from tests.integration.processes import start_gateway
from tests.signing import meta_signature, whatsapp_text_payload

pytestmark = pytest.mark.integration

ACME_NUMBER = '"phone_number_id": "106540352242922"'
GLOBEX_NUMBER = '"phone_number_id": "222222222222222"'


async def test_a_signed_body_repeating_a_routing_key_is_dead_lettered(
    client: GatewayClient, settings: Settings, topic_reader: TopicReader
) -> None:
    """``phone_number_id`` twice (acme's, then globex's) in an authentic body: 200, no
    message for either tenant, and the request on the dead-letter topic with the reason."""
    body = whatsapp_text_payload().replace(
        ACME_NUMBER.encode(), f"{ACME_NUMBER}, {GLOBEX_NUMBER}".encode()
    )
    assert body.count(b"phone_number_id") == 2
    response = await client.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert response.status_code == 200, response.text
    [record] = await topic_reader.read(settings.topic_ingest_deadletter, expect=1)
    assert "'phone_number_id' appears twice" in json.loads(record.value)["reason"]
    assert await topic_reader.read(settings.topic_messages, expect=0, within=1) == []


@pytest.fixture
async def gateway(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real gateway process: repeated headers reach it as sent (the in-process test
    client joins them into one)."""
    process, url = start_gateway(settings, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        process.stop()


async def test_a_repeated_signature_header_is_400(
    gateway: httpx.AsyncClient, settings: Settings, topic_reader: TopicReader
) -> None:
    """Two X-Hub-Signature-256 headers (one of them right): 400 naming it, nothing published;
    a control with one header is accepted."""
    body = whatsapp_text_payload()
    signature = meta_signature(body)
    twice = [
        ("content-type", "application/json"),
        ("x-hub-signature-256", "sha256=" + "0" * 64),
        ("x-hub-signature-256", signature),
    ]
    refused = await gateway.post("/webhooks/whatsapp", content=body, headers=twice)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"] == [{"field": "x-hub-signature-256"}]
    once = await gateway.post("/webhooks/whatsapp", content=body, headers=twice[::2])
    assert once.status_code == 200
    assert len(await topic_reader.read(settings.topic_messages, expect=1)) == 1


async def test_a_repeated_authorization_header_is_400(gateway: httpx.AsyncClient) -> None:
    """Two bearer keys on a /v1 request: 400, whichever tenant they name."""
    twice = [("authorization", "Bearer acme-test-key"), ("authorization", "Bearer globex-test-key")]
    response = await gateway.get("/v1/threads", headers=twice)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == [{"field": "authorization"}]


async def test_the_meta_handshake_answer_is_not_to_be_sniffed(client: GatewayClient) -> None:
    """The echoed ``hub.challenge`` is plain text with ``X-Content-Type-Options: nosniff``."""
    response = await client.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "vibecoding",
            "hub.challenge": "<script>1</script>",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
