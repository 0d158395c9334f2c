"""The gateway against the real broker: what a signed webhook puts on the topics."""

import json
import time
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from contracts import Settings, load_tenants
from ingest.app import create_app
from tests.conftest import FIXTURES, provider_fixture
from tests.integration.conftest import GatewayClient, TopicReader
from tests.signing import meta_signature, twilio_signature, whatsapp_text_payload

pytestmark = pytest.mark.integration


async def post_whatsapp(
    client: GatewayClient, body: bytes, signature: str | None = None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature != "":
        headers["x-hub-signature-256"] = signature or meta_signature(body)
    return await client.post("/webhooks/whatsapp", content=body, headers=headers)


async def test_signed_whatsapp_message_is_published_with_key_and_headers(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """A signed WhatsApp text becomes one MessageEvent keyed by tenant, channel and wa_id."""
    body = provider_fixture("whatsapp_text_message.json")
    response = await post_whatsapp(client, body, None)
    assert response.status_code == 200, response.text
    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    value = json.loads(record.value)
    headers = dict(record.headers)
    assert record.key == f"acme:whatsapp:{value['participant']['channel_user_id']}".encode()
    assert headers["schema"] == b"chat.message/1"
    assert headers["event_id"].decode() == value["event_id"]
    assert headers["correlation_id"].decode() == response.headers["x-request-id"]
    assert value["tenant_id"] == "acme"
    assert value["channel"] == "whatsapp"
    assert value["provider"] == "meta"
    assert value["direction"] == "inbound"
    assert value["provider_message_id"].startswith("wamid.")
    assert value["content"]["type"] == "text"


async def test_wrong_or_missing_signature_is_refused_and_nothing_published(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """401 for a wrong or absent X-Hub-Signature-256, and the topic stays empty."""
    body = whatsapp_text_payload()
    wrong = await post_whatsapp(client, body, meta_signature(body, "not-the-secret"))
    missing = await post_whatsapp(client, body, "")
    assert wrong.status_code == 401
    assert missing.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert await topic_reader.read(settings.topic_messages, expect=0, within=2) == []
    assert await topic_reader.read(settings.topic_ingest_deadletter, expect=0, within=1) == []


async def test_batched_payload_yields_every_message(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """3 entries with 2 messages each give 6 events, all distinct."""
    body = whatsapp_text_payload(entries=3, messages_per_entry=2)
    response = await post_whatsapp(client, body)
    assert response.status_code == 200
    records = await topic_reader.read(settings.topic_messages, expect=6)
    assert len(records) == 6
    assert len({json.loads(r.value)["event_id"] for r in records}) == 6


async def test_redelivered_webhook_keeps_its_event_id(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """The same webhook delivered twice is published twice with the same event_id."""
    body = whatsapp_text_payload(wamid_prefix="wamid.REDELIVERED")
    assert (await post_whatsapp(client, body)).status_code == 200
    assert (await post_whatsapp(client, body)).status_code == 200
    records = await topic_reader.read(settings.topic_messages, expect=2)
    assert len(records) == 2
    assert records[0].key == records[1].key
    assert json.loads(records[0].value)["event_id"] == json.loads(records[1].value)["event_id"]


async def test_unknown_tenant_is_dead_lettered_with_its_reason(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """An authentic payload for an unknown number is answered 200 and kept raw with a reason."""
    body = whatsapp_text_payload(phone_number_id="999999999999999")
    response = await post_whatsapp(client, body)
    assert response.status_code == 200
    [record] = await topic_reader.read(settings.topic_ingest_deadletter, expect=1)
    letter = json.loads(record.value)
    assert record.key == b"whatsapp"
    assert dict(record.headers)["schema"] == b"ingest.deadletter/1"
    assert "999999999999999" in letter["reason"]
    assert letter["path"] == "/webhooks/whatsapp"
    # Replay parses again without authenticating again: the signature is not kept.
    assert letter["headers"]["content-type"] == "application/json"
    assert "x-hub-signature-256" not in letter["headers"]
    import base64

    assert base64.b64decode(letter["body_base64"]) == body
    assert await topic_reader.read(settings.topic_messages, expect=0, within=1) == []


async def test_invalid_json_is_dead_lettered(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """A signed body that is not JSON is authentic, so it is kept, not refused."""
    body = b"{not json"
    response = await post_whatsapp(client, body)
    assert response.status_code == 200
    [record] = await topic_reader.read(settings.topic_ingest_deadletter, expect=1)
    assert "json" in json.loads(record.value)["reason"].lower()


async def test_oversize_body_is_refused_with_413(client: GatewayClient) -> None:
    """A webhook body over 1 MiB answers 413 before anything is parsed."""
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = await post_whatsapp(client, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_meta_subscription_handshake(client: GatewayClient) -> None:
    """The GET handshake echoes hub.challenge for the right token and answers 403 otherwise."""
    ok = await client.get(
        "/webhooks/instagram",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "vibecoding",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    bad = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status_code == 403


async def test_twilio_sms_is_published_and_answered_with_twiml(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """A signed Twilio SMS answers <Response/> and lands on the messages topic."""
    body = provider_fixture("twilio_inbound_sms.form")
    url = "https://gateway.example.com/webhooks/sms/twilio"
    response = await client.post(
        "/webhooks/sms/twilio",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio_signature(url, body, "12345"),
        },
    )
    assert response.status_code == 200, response.text
    assert response.text == "<Response/>"
    assert response.headers["content-type"].startswith("text/xml")
    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    value = json.loads(record.value)
    assert value["channel"] == "sms"
    assert value["provider"] == "twilio"
    assert record.key == b"acme:sms:+13177592786"


async def test_twilio_bad_signature_is_refused(client: GatewayClient) -> None:
    """A Twilio request signed with another token answers 401."""
    body = provider_fixture("twilio_inbound_sms.form")
    response = await client.post(
        "/webhooks/sms/twilio",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio_signature(
                "https://gateway.example.com/webhooks/sms/twilio", body, "wrong"
            ),
        },
    )
    assert response.status_code == 401


BOOKING: dict[str, Any] = {
    "type": "booking.created",
    "occurred_at": "2026-05-01T10:00:00Z",
    "version": 1,
    "booking": {
        "booking_id": "b-1",
        "confirmation_code": "ABC-123456",
        "status": "confirmed",
        "activity_name": "Kayak tour",
        "starts_at": "2026-06-01T09:00:00Z",
        "created_at": "2026-05-01T10:00:00Z",
        "grand_total": "120.50",
        "currency": "GBP",
        "source": "online",
    },
    "customer": {"name": "Ann Lee", "emails": ["ann@example.com"], "phone": "+447911123456"},
}


async def test_booking_event_is_published_for_the_key_tenant(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """POST /v1/bookings/events answers 202 with the event id and publishes it keyed by booking."""
    response = await client.post(
        "/v1/bookings/events", json=BOOKING, headers={"authorization": "Bearer acme-test-key"}
    )
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]
    [record] = await topic_reader.read(settings.topic_bookings, expect=1)
    value = json.loads(record.value)
    assert record.key == b"acme:b-1"
    assert value["event_id"] == event_id
    assert value["tenant_id"] == "acme"
    assert value["booking"]["grand_total"] == "120.50"
    assert dict(record.headers)["schema"] == b"booking.event/1"


async def test_booking_event_errors(client: GatewayClient) -> None:
    """No key 401; another tenant's id 422; an invalid body 422 naming the field."""
    no_key = await client.post("/v1/bookings/events", json=BOOKING)
    assert no_key.status_code == 401
    other = await client.post(
        "/v1/bookings/events",
        json={**BOOKING, "tenant_id": "globex"},
        headers={"authorization": "Bearer acme-test-key"},
    )
    assert other.status_code == 422
    invalid = await client.post(
        "/v1/bookings/events",
        json={**BOOKING, "version": "many"},
        headers={"authorization": "Bearer acme-test-key"},
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"][0]["field"] == "version"


async def test_events_too_large_for_kafka_are_refused_never_spooled(
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """Past the producer's record limit a booking posted over HTTP gets 413; a webhook whose
    dead letter would be too large as well gets 503. Nothing is published or spooled.
    (Events too large whose request fits are dead-lettered: tests/unit/ingest.)"""
    small = settings.model_copy(
        update={"kafka_max_request_bytes": 1024 * 1024, "max_body_bytes": 3 * 1024 * 1024}
    )
    app = create_app(small, tenants=load_tenants(FIXTURES / "tenants.toml"))
    huge = "x" * (1024 * 1024 + 1)
    async with AsyncTestClient(app=app) as client:
        booking = await client.post(
            "/v1/bookings/events",
            json={**BOOKING, "booking": {**BOOKING["booking"], "activity_name": huge}},
            headers={"authorization": "Bearer acme-test-key"},
        )
        webhook = await post_whatsapp(client, whatsapp_text_payload(text=huge))
        depth = await client.get("/metrics")
    assert booking.status_code == 413, booking.text
    assert booking.json()["error"]["code"] == "payload_too_large"
    assert webhook.status_code == 503, webhook.text
    for topic in (settings.topic_bookings, settings.topic_messages):
        assert await topic_reader.read(topic, expect=0, within=1) == []
    assert await topic_reader.read(settings.topic_ingest_deadletter, expect=0, within=1) == []
    assert "threadline_spool_depth 0.0" in depth.text


async def test_health_ready_and_metrics(client: GatewayClient) -> None:
    """/health is up, /ready sees both servers, /metrics counts the webhook outcomes."""
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok"}
    body = whatsapp_text_payload()
    await post_whatsapp(client, body, meta_signature(body, "bad"))
    text = (await client.get("/metrics")).text
    assert (
        'threadline_webhook_requests_total{channel="whatsapp",outcome="unauthorized",provider="meta"}'
        in text
    )
    assert "threadline_publish_latency_seconds_bucket" in text


async def test_broker_down_without_a_spool_answers_503_within_the_publish_timeout(
    settings: Settings,
) -> None:
    """With Kafka unreachable and the spool off, a valid webhook is answered 503 (not claimed)
    in bounded time."""
    from datetime import timedelta

    from devstack import free_port

    down = settings.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
            "publish_timeout": timedelta(seconds=1),
            "spool_max_bytes": 0,
        }
    )
    app = create_app(down, tenants=load_tenants(FIXTURES / "tenants.toml"))
    async with AsyncTestClient(app=app) as client:
        body = whatsapp_text_payload()
        started = time.monotonic()
        response = await post_whatsapp(client, body)
        elapsed = time.monotonic() - started
        ready = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert elapsed < 3
    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"] == "down"
