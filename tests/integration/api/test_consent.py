"""(v1.1) Consent per customer and channel: recorded from conversations, receipts and booking
forms through the real handlers, read back through the API."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from consumers.statuses import StatusesHandler
from contracts import StatusEvent, TenantDirectory, status_event_id
from domain.store.database import Store
from tests.factories import booking_event, consent_event, message_event
from tests.integration.api.conftest import ACME, GLOBEX
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
PHONE = "+447911123456"


async def the_customer(store: Store) -> str:
    [customer] = await store.database["customers"].find({}).to_list()
    customer_id: str = customer["_id"]
    return customer_id


async def consent(client: GatewayClient, customer_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/customers/{customer_id}/consent", headers=ACME)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def status_of(body: dict[str, Any], channel: str, topic: str) -> str:
    [item] = [i for i in body["items"] if (i["channel"], i["topic"]) == (channel, topic)]
    status: str = item["status"]
    return status


async def test_stop_then_start_leaves_consent_given_with_its_history(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler, store: Store
) -> None:
    await bookings.handle(booking_event(phone=PHONE))
    customer_id = await the_customer(store)
    assert status_of(await consent(client, customer_id), "sms", "all") == "not_captured"
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="SM-stop",
                channel="sms",
                provider="twilio",
                channel_user_id=PHONE,
                phone=PHONE,
                text="STOP",
                occurred_at=T0,
            ),
            consent_event(status="revoked", occurred_at=T0, keyword="STOP"),
        ]
    )
    assert status_of(await consent(client, customer_id), "sms", "all") == "revoked"
    await messages.handle_batch(
        [consent_event(status="given", occurred_at=T0 + timedelta(hours=1), keyword="START")]
    )
    # Delivered again, and an older STOP arriving late: neither changes the outcome.
    await messages.handle_batch(
        [
            consent_event(status="given", occurred_at=T0 + timedelta(hours=1), keyword="START"),
            consent_event(status="revoked", occurred_at=T0 - timedelta(days=1)),
        ]
    )
    body = await consent(client, customer_id)
    assert status_of(body, "sms", "all") == "given"
    assert [(i["status"], i["source"]) for i in body["history"]] == [
        ("revoked", "twilio_opt_out_type"),
        ("revoked", "twilio_opt_out_type"),
        ("given", "twilio_opt_out_type"),
    ]
    assert status_of(body, "whatsapp", "all") == "not_captured"
    detail = (await client.get(f"/v1/customers/{customer_id}", headers=ACME)).json()
    assert detail["consent"]["sms"] == {"marketing": "not_captured", "all": "given"}


async def test_a_revoke_before_the_booking_that_links_the_person_is_theirs(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler, store: Store
) -> None:
    """A WhatsApp marketing stop from someone nobody knows yet, with no conversation: once a
    booking gives a customer that phone, the stop is the customer's."""
    await messages.handle_batch(
        [
            consent_event(
                channel="whatsapp",
                topic="marketing",
                status="revoked",
                source="whatsapp_user_preferences",
                keyword="stop",
            )
        ]
    )
    await bookings.handle(booking_event(phone="+44 7911 123456"))
    body = await consent(client, await the_customer(store))
    assert status_of(body, "whatsapp", "marketing") == "revoked"
    assert status_of(body, "sms", "marketing") == "not_captured"


async def test_a_booking_forms_consent_and_a_send_error(
    client: GatewayClient, bookings: BookingsHandler, store: Store, tenants: TenantDirectory
) -> None:
    """Marketing email given on the booking form (no channel: every channel), then an SMS
    failing with Twilio 21610 (the person replied STOP): SMS revoked, the rest given."""
    event = booking_event(phone=PHONE)
    customer = event.customer.model_dump(mode="json") | {
        "consents": [
            {"topic": "marketing", "status": "given", "occurred_at": "2026-04-30T09:00:00Z"}
        ]
    }
    await bookings.handle(
        event.model_copy(update={"customer": type(event.customer).model_validate(customer)})
    )
    customer_id = await the_customer(store)
    failed = StatusEvent.model_validate(
        {
            "event_id": status_event_id("sms", "twilio", "SM-failed", "failed"),
            "tenant_id": "acme",
            "channel": "sms",
            "provider": "twilio",
            "provider_message_id": "SM-failed",
            "status": "failed",
            "occurred_at": T0,
            "received_at": T0,
            "participant": {"channel_user_id": PHONE, "phone": PHONE},
            "error": {"code": "21610", "title": "recipient unsubscribed"},
        }
    )
    await StatusesHandler(store, tenants).handle(failed)
    body = await consent(client, customer_id)
    assert status_of(body, "email", "marketing") == "given"
    assert status_of(body, "whatsapp", "marketing") == "given"
    assert status_of(body, "sms", "marketing") == "given"
    assert status_of(body, "sms", "all") == "revoked"
    sources = {(i["channel"], i["topic"]): i["source"] for i in body["items"]}
    assert sources[("sms", "all")] == "send_error"
    assert sources[("email", "marketing")] == "booking_form"


async def test_another_tenant_never_sees_it(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler, store: Store
) -> None:
    await bookings.handle(booking_event(phone=PHONE))
    await messages.handle_batch([consent_event(tenant_id="globex", status="revoked")])
    customer_id = await the_customer(store)
    assert status_of(await consent(client, customer_id), "sms", "all") == "not_captured"
    answer = await client.get(f"/v1/customers/{customer_id}/consent", headers=GLOBEX)
    assert answer.status_code == 404
