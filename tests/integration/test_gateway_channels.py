"""Every webhook route end to end: authentication, answer, and the records on the topics."""

import hashlib
import hmac
import json
import time
import uuid

import pytest
from litestar.testing import AsyncTestClient

from contracts import Settings, load_tenants
from ingest.app import create_app
from tests.conftest import FIXTURES, provider_fixture
from tests.integration.conftest import GatewayClient, TopicReader
from tests.signing import meta_signature, twilio_signature
from tests.unit.ingest.webhooks.channels.adapter_helpers import (
    multipart_body,
    split_capture,
    to_crlf,
)

pytestmark = pytest.mark.integration

TWILIO_URL = "https://gateway.example.com/webhooks/sms/twilio"
BASIC = "Basic " + __import__("base64").b64encode(b"inbound:parse-secret").decode()


async def test_instagram_and_messenger_are_published_on_their_channels(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """Signed Instagram and Messenger payloads become events of their own channel."""
    for path, name in (
        ("/webhooks/instagram", "instagram_text_message_courier.json"),
        ("/webhooks/messenger", "messenger_text_message_signed.json"),
    ):
        body = provider_fixture(name)
        response = await client.post(
            path,
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": meta_signature(body),
            },
        )
        assert response.status_code == 200, response.text
    records = await topic_reader.read(settings.topic_messages, expect=2)
    assert sorted(json.loads(r.value)["channel"] for r in records) == ["instagram", "messenger"]


async def test_messenger_receipts_go_to_the_statuses_topic(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """Delivery and read receipts are StatusEvents on chat.statuses.v1."""
    for name in ("messenger_delivery.json", "messenger_read.json"):
        body = provider_fixture(name)
        response = await client.post(
            "/webhooks/messenger",
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": meta_signature(body),
            },
        )
        assert response.status_code == 200
    records = await topic_reader.read(settings.topic_statuses, expect=2)
    assert {json.loads(r.value)["status"] for r in records} >= {"read"}
    assert all(dict(r.headers)["schema"] == b"chat.status/1" for r in records)


async def test_twilio_whatsapp_and_status_callback(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """WhatsApp via Twilio is channel whatsapp; a failed callback is a failed status."""
    inbound = provider_fixture("twilio_inbound_whatsapp_courier_test.form")
    status = provider_fixture("twilio_status_callback_failed_courier_test.form")
    for body in (inbound, status):
        response = await client.post(
            "/webhooks/sms/twilio",
            content=body,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-twilio-signature": twilio_signature(TWILIO_URL, body, "globex-twilio-token"),
            },
        )
        assert response.status_code == 200, response.text
    [message] = await topic_reader.read(settings.topic_messages, expect=1)
    value = json.loads(message.value)
    assert (value["tenant_id"], value["channel"], value["provider"]) == (
        "globex",
        "whatsapp",
        "twilio",
    )
    [receipt] = await topic_reader.read(settings.topic_statuses, expect=1)
    assert json.loads(receipt.value)["status"] == "failed"
    assert json.loads(receipt.value)["error"]["code"] == "21610"


async def test_sendgrid_needs_basic_auth_and_publishes_the_email(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """Without the right Basic credentials 401; with them, the parsed email is published."""
    body = to_crlf(provider_fixture("sendgrid_inbound_parse.txt"))
    headers = {"content-type": "multipart/form-data; boundary=xYzZY"}
    refused = await client.post(
        "/webhooks/email/sendgrid", content=body, headers={**headers, "authorization": "Basic eDp5"}
    )
    assert refused.status_code == 401
    accepted = await client.post(
        "/webhooks/email/sendgrid", content=body, headers={**headers, "authorization": BASIC}
    )
    assert accepted.status_code == 200, accepted.text
    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    value = json.loads(record.value)
    assert (value["channel"], value["provider"], value["tenant_id"]) == (
        "email",
        "sendgrid",
        "acme",
    )
    assert value["content"]["type"] == "email"


async def test_postmark_email_with_a_plus_address_carries_the_reference(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """A Postmark email to bookings+ABC-123456@ has that reference."""
    payload = json.loads(provider_fixture("postmark_inbound.json"))
    payload["ToFull"] = [{"Email": "bookings+ABC-123456@inbound.postmarkapp.com", "Name": ""}]
    payload["To"] = "bookings+ABC-123456@inbound.postmarkapp.com"
    payload["OriginalRecipient"] = payload["To"]
    payload["MailboxHash"] = "ABC-123456"
    response = await client.post(
        "/webhooks/email/postmark",
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", "authorization": BASIC},
    )
    assert response.status_code == 200, response.text
    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    assert "ABC-123456" in json.loads(record.value)["references"]


def mailgun_form(*, token: str, timestamp: int) -> tuple[dict[str, str], bytes]:
    signature = hmac.new(b"foo", f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    fields: list[tuple[str, str | bytes, str | None, str | None]] = [
        ("recipient", "bookings@multimail.mailgun.org", None, None),
        ("sender", "ann@example.com", None, None),
        ("from", "Ann Lee <ann@example.com>", None, None),
        ("subject", "Question about ABC-123456", None, None),
        ("body-plain", "Hello, can we move it?", None, None),
        ("stripped-text", "Hello, can we move it?", None, None),
        ("Message-Id", f"<{uuid.uuid4()}@example.com>", None, None),
        ("timestamp", str(timestamp), None, None),
        ("token", token, None, None),
        ("signature", signature, None, None),
    ]
    return multipart_body(fields)


async def test_mailgun_signature_age_and_token_reuse(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """A fresh signature is accepted once; the same token again, or a stale one, is 401."""
    headers, body = mailgun_form(token=uuid.uuid4().hex, timestamp=int(time.time()))
    first = await client.post("/webhooks/email/mailgun", content=body, headers=headers)
    again = await client.post("/webhooks/email/mailgun", content=body, headers=headers)
    _, stale_body = mailgun_form(token=uuid.uuid4().hex, timestamp=int(time.time()) - 3600)
    stale = await client.post("/webhooks/email/mailgun", content=stale_body, headers=headers)
    captured_headers, captured = split_capture(provider_fixture("mailgun_inbound_captured.http"))
    recorded = await client.post(
        "/webhooks/email/mailgun",
        content=captured,
        headers={"content-type": captured_headers["content-type"]},
    )
    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert stale.status_code == 401
    assert recorded.status_code == 401  # a 2013 capture is far outside the 5-minute window
    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    value = json.loads(record.value)
    assert value["provider"] == "mailgun"
    assert value["references"] == ["ABC-123456"]


async def test_email_routes_take_bodies_up_to_30_mib(client: GatewayClient) -> None:
    """Email may be larger than the 1 MiB webhook limit; past 30 MiB it is 413."""
    payload = json.loads(provider_fixture("postmark_inbound.json"))
    payload["TextBody"] = "x" * (2 * 1024 * 1024)
    headers = {"content-type": "application/json", "authorization": BASIC}
    big = await client.post(
        "/webhooks/email/postmark", content=json.dumps(payload).encode(), headers=headers
    )
    assert big.status_code == 200, big.text
    payload["TextBody"] = "x" * (31 * 1024 * 1024)
    too_big = await client.post(
        "/webhooks/email/postmark", content=json.dumps(payload).encode(), headers=headers
    )
    assert too_big.status_code == 413


async def test_a_mailgun_token_used_on_one_replica_is_refused_by_another(
    settings: Settings,
) -> None:
    """Two gateway processes share the used-token store in MongoDB."""
    headers, body = mailgun_form(token=uuid.uuid4().hex, timestamp=int(time.time()))
    tenants = load_tenants(FIXTURES / "tenants.toml")
    first_replica = create_app(settings, tenants=tenants)
    second_replica = create_app(settings, tenants=tenants)
    async with AsyncTestClient(app=first_replica) as first:
        accepted = await first.post("/webhooks/email/mailgun", content=body, headers=headers)
    async with AsyncTestClient(app=second_replica) as second:
        replayed = await second.post("/webhooks/email/mailgun", content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert replayed.status_code == 401
