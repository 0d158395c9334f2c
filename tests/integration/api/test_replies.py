"""(v1.1) Replies through the read API: stored pending and published to chat.outbound.v1
before the 202, refused by the reply window, consent and the channel's limits, sent once per
Idempotency-Key, with uploaded files, and retried only when failed or unknown."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.messages import MessagesHandler
from contracts import OutboundEvent, Settings, load_tenants
from domain.links import link_key, upload_link
from domain.store.database import Store
from tests.conftest import FIXTURES
from tests.factories import consent_event, message_event
from tests.integration.api.conftest import ACME, GLOBEX, error_code
from tests.integration.conftest import GatewayClient, TopicReader

pytestmark = pytest.mark.integration

PHONE = "+447911123456"


async def a_thread(
    messages: MessagesHandler,
    client: GatewayClient,
    *,
    hours_ago: float = 1,
    channel: str = "whatsapp",
) -> dict[str, Any]:
    await messages.handle_batch(
        [
            message_event(
                provider_message_id=f"{channel}.in.1",
                channel=channel,
                provider="twilio" if channel == "sms" else "meta",
                channel_user_id=PHONE if channel == "sms" else PHONE[1:],
                phone=PHONE,
                occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
            )
        ]
    )
    [thread] = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    return thread  # type: ignore[no-any-return]


async def reply(
    client: GatewayClient, thread_id: str, body: dict[str, Any], key: str | None = None
) -> Any:
    headers = {**ACME, **({"Idempotency-Key": key} if key else {})}
    return await client.post(f"/v1/threads/{thread_id}/messages", json=body, headers=headers)


async def test_a_reply_is_stored_pending_and_published_before_the_answer(
    messages: MessagesHandler,
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    thread = await a_thread(messages, client)
    answer = await reply(client, thread["id"], {"text": "See you at 9", "author": "Dana"})
    assert answer.status_code == 202, answer.text
    sent = answer.json()
    assert (sent["direction"], sent["status"], sent["author"]) == ("outbound", "pending", "Dana")
    assert (sent["content"]["type"], sent["content"]["text"]) == ("text", "See you at 9")
    # Published already: the answer came after Kafka acknowledged it.
    [record] = await topic_reader.read(settings.topic_outbound, expect=1, within=5)
    event = OutboundEvent.model_validate_json(record.value)
    assert (event.message_id, event.attempt, event.thread_id) == (sent["id"], 1, thread["id"])
    assert record.key == f"acme:whatsapp:{PHONE[1:]}".encode()
    assert dict(record.headers)["schema"] == b"chat.outbound/1"
    timeline = (await client.get(f"/v1/threads/{thread['id']}/messages", headers=ACME)).json()
    assert [m["id"] for m in timeline["items"]][-1] == sent["id"]
    listed = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert listed["last_message"]["preview"] == "See you at 9"
    assert listed["message_count"] == 2


async def test_the_same_idempotency_key_answers_the_first_reply_and_publishes_once(
    messages: MessagesHandler,
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    thread = await a_thread(messages, client)
    first = await reply(client, thread["id"], {"text": "Booked!"}, key="k-1")
    again = await reply(client, thread["id"], {"text": "Booked!"}, key="k-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    other = await reply(client, thread["id"], {"text": "Booked twice?"}, key="k-1")
    assert other.status_code == 422
    assert error_code(other.json()) == "idempotency_key_reused"
    records = await topic_reader.read(settings.topic_outbound, expect=2, within=3)
    assert len(records) == 1
    # Another tenant's same key is its own.
    timeline = (await client.get(f"/v1/threads/{thread['id']}/messages", headers=ACME)).json()
    assert sum(m["direction"] == "outbound" for m in timeline["items"]) == 1


async def test_a_closed_window_needs_a_template(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread = await a_thread(messages, client, hours_ago=25)
    answer = await reply(client, thread["id"], {"text": "Still there?"})
    assert answer.status_code == 409
    assert error_code(answer.json()) == "template_required"
    template = {"name": "booking_reminder", "language": "en_US", "parameters": ["Ann", "9:00"]}
    answer = await reply(client, thread["id"], {"template": template})
    assert answer.status_code == 202, answer.text
    assert answer.json()["content"]["text"] == "Template booking_reminder (en_US): Ann, 9:00"


async def test_an_opted_out_customer_is_not_messaged(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread = await a_thread(messages, client, channel="sms")
    await messages.handle_batch([consent_event(status="revoked", occurred_at=datetime.now(UTC))])
    answer = await reply(client, thread["id"], {"text": "Hello"})
    assert answer.status_code == 409
    assert error_code(answer.json()) == "opted_out"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"template": {"name": "t", "language": "en"}, "text": "and text"}, "template"),
        ({"attachments": [{"upload_id": "nope"}]}, "attachments.0.upload_id"),
        ({"text": "hi", "unknown": 1}, None),
    ],
)
async def test_what_the_channel_cannot_carry_is_422(
    messages: MessagesHandler, client: GatewayClient, body: dict[str, Any], field: str | None
) -> None:
    thread = await a_thread(messages, client)
    answer = await reply(client, thread["id"], body)
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert field in json.dumps(answer.json()["error"].get("details"))


async def test_an_uploaded_file_is_sent_and_served_as_the_replys_attachment(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread = await a_thread(messages, client)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2000
    uploaded = await client.post(
        "/v1/uploads", files={"data": ("map.png", png, "image/png")}, headers=ACME
    )
    assert uploaded.status_code == 201, uploaded.text
    upload = uploaded.json()
    assert (upload["kind"], upload["size"], upload["filename"]) == ("image", len(png), "map.png")
    answer = await reply(
        client, thread["id"], {"attachments": [{"upload_id": upload["upload_id"]}]}
    )
    assert answer.status_code == 202, answer.text
    sent = answer.json()
    [attachment] = sent["content"]["attachments"]
    assert (attachment["kind"], attachment["state"]) == ("image", "stored")
    served = await client.get(f"/v1/messages/{sent['id']}/attachments/0", headers=ACME)
    assert (served.status_code, served.content) == (200, png)
    # Another tenant cannot attach it.
    other = await client.post(
        "/v1/threads/x/messages", json={"attachments": [upload]}, headers=GLOBEX
    )
    assert other.status_code in (404, 422)


async def test_only_a_failed_or_unknown_reply_is_retried(
    messages: MessagesHandler,
    client: GatewayClient,
    store: Store,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    thread = await a_thread(messages, client)
    sent = (await reply(client, thread["id"], {"text": "Try me"})).json()
    pending = await client.post(f"/v1/messages/{sent['id']}/retry", headers=ACME)
    assert pending.status_code == 409
    await store.outbound.claim(sent["id"], 1)
    await store.outbound.unknown(sent["id"], 1, "timed out")
    retried = await client.post(f"/v1/messages/{sent['id']}/retry", headers=ACME)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending"
    records = await topic_reader.read(settings.topic_outbound, expect=2)
    attempts = sorted(OutboundEvent.model_validate_json(r.value).attempt for r in records)
    assert attempts == [1, 2]
    assert (
        await client.post(f"/v1/messages/{sent['id']}/retry", headers=GLOBEX)
    ).status_code == 404


async def test_a_signed_link_serves_the_upload_to_a_provider_until_it_expires(
    client: GatewayClient, settings: Settings
) -> None:
    uploaded = await client.post(
        "/v1/uploads",
        files={"data": ("menu.pdf", b"%PDF-1.7 menu", "application/pdf")},
        headers=ACME,
    )
    upload_id = uploaded.json()["upload_id"]
    key = link_key(settings, load_tenants(FIXTURES / "tenants.toml"))
    assert key is not None
    link = upload_link("", upload_id, key, datetime.now(UTC))
    fetched = await client.get(link)
    assert (fetched.status_code, fetched.content) == (200, b"%PDF-1.7 menu")
    assert fetched.headers["content-type"].startswith("application/pdf")
    assert (await client.get(link.replace("signature=", "signature=0"))).status_code == 403
    expired = upload_link("", upload_id, key, datetime.now(UTC) - timedelta(hours=2))
    assert (await client.get(expired)).status_code == 403
