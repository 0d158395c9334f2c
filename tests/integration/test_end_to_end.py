"""From a signed webhook at the gateway to a stored, linked thread, through the real broker."""

import json
from typing import Any

import pytest

from domain.store.database import Store
from tests.conftest import provider_fixture
from tests.integration.conftest import GatewayClient
from tests.signing import meta_signature, whatsapp_text_payload
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_webhook_to_linked_thread(
    client: GatewayClient,
    store: Store,
    consumers: None,
) -> None:
    """A WhatsApp message from an unknown number, then a booking with that number: the
    stored thread is linked to the new customer, with the message in it."""
    body = whatsapp_text_payload(wa_id="447911123456", text="Hi, is 9am free? ABC-000001")
    response = await client.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert response.status_code == 200

    async def thread() -> dict[str, Any] | None:
        return await store.database["threads"].find_one({"message_count": 1})

    stored = await eventually(thread, within=30, what="the stored thread")
    assert stored["customer_id"] is None
    booking = {
        "type": "booking.created",
        "occurred_at": "2026-05-01T10:00:00Z",
        "version": 1,
        "booking": {
            "booking_id": "b-e2e",
            "confirmation_code": "XYZ-000001",
            "status": "confirmed",
            "activity_name": "Kayak tour",
            "starts_at": "2026-06-01T09:00:00Z",
            "created_at": "2026-05-01T10:00:00Z",
            "grand_total": "80.00",
            "currency": "GBP",
            "source": "whatsapp",
        },
        "customer": {"name": "Sheena Nelson", "emails": [], "phone": "+44 7911 123456"},
    }
    posted = await client.post(
        "/v1/bookings/events", json=booking, headers={"authorization": "Bearer acme-test-key"}
    )
    assert posted.status_code == 202

    async def linked() -> dict[str, Any] | None:
        return await store.database["threads"].find_one({"customer_id": {"$ne": None}})

    thread_now = await eventually(linked, within=30, what="the thread linked to a customer")
    customer = await store.database["customers"].find_one({"_id": thread_now["customer_id"]})
    assert customer is not None
    assert customer["source"] == "whatsapp"

    async def linked_message() -> dict[str, Any] | None:
        # The thread is linked first, then its messages.
        return await store.database["messages"].find_one(
            {"thread_id": thread_now["_id"], "customer_id": customer["_id"]}
        )

    message = await eventually(linked_message, within=30, what="the message linked")
    assert message["content"]["text"] == "Hi, is 9am free? ABC-000001"


async def test_2026_payloads_from_webhook_to_the_chats_page(
    client: GatewayClient, store: Store, consumers: None
) -> None:
    """Signed webhooks of 2026 through the gateway, the broker and the workers: a Messenger
    sticker and an Instagram story share show their media URL on /messages, and a WhatsApp
    edit changes the message it names."""
    sticker = provider_fixture("messenger_sticker_metadocs.json").replace(
        b'"1234567890"', b'"1691462197845448"'
    )
    story = {
        "object": "instagram",
        "entry": [
            {
                "id": "1234567890",
                "time": 1788859253587,
                "messaging": [
                    {
                        "sender": {"id": "5678"},
                        "recipient": {"id": "1234567890"},
                        "timestamp": 1788859253587,
                        "message": {
                            "mid": "mid-story",
                            "attachments": [
                                {
                                    "type": "ig_story",
                                    "payload": {
                                        "story_media_url": "https://lookaside.fbsbx.com/story.jpg"
                                    },
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    original = whatsapp_text_payload(wamid_prefix="wamid.E2E", text="Table for 2")
    edit = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "messages": [
                                    {
                                        "from": "16505551234",
                                        "id": "wamid.E2E.edit",
                                        "timestamp": "1749416999",
                                        "type": "edit",
                                        "edit": {
                                            "original_message_id": "wamid.E2E.0.0",
                                            "message": {
                                                "type": "text",
                                                "text": {"body": "Table for 3"},
                                            },
                                        },
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    for path, body in (
        ("/webhooks/messenger", sticker),
        ("/webhooks/instagram", json.dumps(story).encode()),
        ("/webhooks/whatsapp", edit),
        ("/webhooks/whatsapp", original),
    ):
        answer = await client.post(
            path,
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": meta_signature(body),
            },
        )
        assert answer.status_code == 200, (path, answer.text)

    async def urls() -> dict[str, str] | None:
        found = {}
        async for message in store.database["messages"].find({}):
            for attachment in message["content"].get("attachments", []):
                found[message["channel"]] = attachment.get("url")
        return found if len(found) == 2 else None

    stored = await eventually(urls, within=30, what="the sticker and the story")
    assert stored == {
        "messenger": "<STICKER_URL>",
        "instagram": "https://lookaside.fbsbx.com/story.jpg",
    }
    for channel in ("messenger", "instagram"):
        thread = await store.database["threads"].find_one({"channel": channel})
        assert thread is not None
        page = await client.get(
            f"/v1/threads/{thread['_id']}/messages",
            headers={"authorization": "Bearer acme-test-key"},
        )
        [message] = page.json()["items"]
        assert message["content"]["attachments"][0]["url"] == stored[channel]

    async def edited() -> dict[str, Any] | None:
        return await store.database["messages"].find_one(
            {"provider_message_id": "wamid.E2E.0.0", "content.text": "Table for 3"}
        )

    message = await eventually(edited, within=30, what="the edited message")
    assert [v["content"]["text"] for v in message["versions"]] == ["Table for 2"]
