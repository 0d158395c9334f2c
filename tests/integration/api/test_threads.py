"""``/v1/threads`` against the real database, filled by the real messages handler."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devstack import free_port
from litestar.testing import AsyncTestClient

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Settings, load_tenants
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.factories import booking_event, message_event
from tests.integration.api.conftest import ACME, error_code
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


async def conversation(
    messages: MessagesHandler, index: int, *, at: datetime, count: int = 1, **kwargs: Any
) -> None:
    phone = f"+4479111{index:05d}"
    await messages.handle_batch(
        [
            message_event(
                provider_message_id=f"wamid.{index}.{n}",
                channel_user_id=phone[1:],
                phone=phone,
                occurred_at=at + timedelta(seconds=n),
                text=f"message {n} from {index}",
                **kwargs,
            )
            for n in range(count)
        ]
    )


async def test_list_is_newest_activity_first_with_customer_and_summary(
    client: GatewayClient,
    messages: MessagesHandler,
    bookings: BookingsHandler,
) -> None:
    """Threads come newest first, with their summary and the linked customer's name."""
    await bookings.handle(booking_event(name="Ann Lee", phone="+447911100001"))
    await conversation(messages, 1, at=T0, count=2)
    await conversation(messages, 2, at=T0 + timedelta(minutes=5))
    response = await client.get("/v1/threads", headers=ACME)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["participant"]["phone"] for item in body["items"]] == [
        "+447911100002",
        "+447911100001",
    ]
    ann = body["items"][1]
    assert ann["customer"]["name"] == "Ann Lee"
    assert ann["message_count"] == 2
    assert ann["unread_count"] == 2
    assert ann["last_message"]["preview"] == "message 1 from 1"
    assert ann["last_message"]["direction"] == "inbound"
    assert ann["last_message"]["content_type"] == "text"
    assert body["items"][0]["customer"] is None
    assert body["next_cursor"] is None


async def test_filters_by_channel_customer_and_unread(
    client: GatewayClient,
    messages: MessagesHandler,
    bookings: BookingsHandler,
) -> None:
    """channel, customer_id and unread each narrow the list."""
    await bookings.handle(booking_event(name="Ann Lee", phone="+447911100001"))
    await conversation(messages, 1, at=T0)
    await conversation(messages, 2, at=T0, direction="outbound")
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="sms-1",
                channel="sms",
                provider="twilio",
                channel_user_id="+447911100003",
                phone="+447911100003",
                occurred_at=T0,
            )
        ]
    )
    sms = (await client.get("/v1/threads?channel=sms", headers=ACME)).json()["items"]
    assert [t["channel"] for t in sms] == ["sms"]
    everything = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    linked = [t for t in everything if t["customer"]]
    assert len(linked) == 1
    customer_id = linked[0]["customer"]["id"]
    mine = (await client.get(f"/v1/threads?customer_id={customer_id}", headers=ACME)).json()
    assert [t["id"] for t in mine["items"]] == [linked[0]["id"]]
    unread = (await client.get("/v1/threads?unread=true", headers=ACME)).json()["items"]
    assert len(unread) == 2  # the outbound-only thread has nothing unread


async def test_read_sets_unread_to_zero(
    client: GatewayClient,
    messages: MessagesHandler,
) -> None:
    """POST read answers 204 and the thread's unread count becomes 0; a later inbound counts."""
    await conversation(messages, 1, at=T0, count=3)
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    assert thread["unread_count"] == 3
    response = await client.post(f"/v1/threads/{thread['id']}/read", headers=ACME)
    assert response.status_code == 204
    after = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert after["unread_count"] == 0
    assert after["last_read_at"] is not None
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.late",
                channel_user_id="447911100001",
                phone="+447911100001",
                occurred_at=datetime.now(UTC) + timedelta(seconds=5),
            )
        ]
    )
    again = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert again["unread_count"] == 1


async def test_messages_page_oldest_first_both_ways(
    client: GatewayClient,
    messages: MessagesHandler,
) -> None:
    """Messages come oldest first; before and after walk the whole thread both ways."""
    await conversation(messages, 1, at=T0, count=7)
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    url = f"/v1/threads/{thread['id']}/messages"
    newest = (await client.get(f"{url}?limit=3", headers=ACME)).json()
    assert [m["content"]["text"][:9] for m in newest["items"]] == [
        "message 4",
        "message 5",
        "message 6",
    ]
    assert newest["after"] is None
    seen = [m["id"] for m in newest["items"]]
    cursor = newest["before"]
    while cursor:
        page = (await client.get(f"{url}?limit=3&before={cursor}", headers=ACME)).json()
        seen = [m["id"] for m in page["items"]] + seen
        cursor = page["before"]
    assert len(seen) == 7 == len(set(seen))
    forward: list[str] = []
    first = (await client.get(f"{url}?limit=2&after={seen[0]}", headers=ACME)).json()
    forward = [seen[0]] + [m["id"] for m in first["items"]]
    cursor = first["after"]
    while cursor:
        page = (await client.get(f"{url}?limit=2&after={cursor}", headers=ACME)).json()
        forward += [m["id"] for m in page["items"]]
        cursor = page["after"]
    assert forward == seen
    item = newest["items"][0]
    assert item["event_id"] == item["id"]
    assert item["direction"] == "inbound"
    assert item["status"] is None
    assert item["provider_message_id"] == "wamid.1.4"


async def test_outbound_message_has_status(
    client: GatewayClient,
    messages: MessagesHandler,
) -> None:
    """An outbound message carries its delivery status."""
    await conversation(messages, 1, at=T0, direction="outbound")
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    page = (await client.get(f"/v1/threads/{thread['id']}/messages", headers=ACME)).json()
    assert page["items"][0]["status"] == "sent"


async def test_unknown_thread_and_bad_cursor(
    client: GatewayClient,
    messages: MessagesHandler,
) -> None:
    """An unknown thread is 404; a cursor this service did not make is 400; a bad limit 400."""
    await conversation(messages, 1, at=T0)
    missing = await client.get("/v1/threads/nope", headers=ACME)
    assert missing.status_code == 404
    assert error_code(missing.json()) == "not_found"
    bad = await client.get("/v1/threads?cursor=garbage", headers=ACME)
    assert bad.status_code == 400
    assert error_code(bad.json()) == "bad_request"
    assert (await client.get("/v1/threads?limit=0", headers=ACME)).status_code == 400
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    wrong = await client.get(f"/v1/threads/{thread['id']}/messages?before=nope", headers=ACME)
    assert wrong.status_code == 400


async def test_missing_or_wrong_key_is_401(client: GatewayClient) -> None:
    """No key or an unknown key: 401 with the error body."""
    assert (await client.get("/v1/threads")).status_code == 401
    wrong = await client.get("/v1/threads", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert error_code(wrong.json()) == "unauthorized"


async def test_unreachable_store_is_503(settings: Settings) -> None:
    """With MongoDB unreachable the read API answers 503 with the error body, not 500."""
    dead = settings.model_copy(update={"mongo_uri": f"mongodb://127.0.0.1:{free_port()}"})
    app = create_app(dead, tenants=load_tenants(FIXTURES / "tenants.toml"))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/v1/threads", headers=ACME)
    assert response.status_code == 503
    assert error_code(response.json()) == "unavailable"
