"""From a signed webhook at the gateway to a stored, linked thread, through the real broker."""

from typing import Any

import pytest

from domain.store.database import Store
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
