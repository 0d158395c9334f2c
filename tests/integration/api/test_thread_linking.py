"""(extension) Linking a thread to a customer by hand through ``PUT /v1/threads/{id}/customer``:
the thread and its messages become the customer's, the last contact of everyone involved
follows, no automatic rule undoes it, and the change shows on the live stream."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Settings
from domain.store.database import Store
from tests.factories import booking_event, confirmation_code, message_event
from tests.integration.api.conftest import ACME, GLOBEX, error_code, served
from tests.integration.api.test_events import EventReader
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
PHONE = "+447911000444"


def written(mid: str, minutes: int, **fields: Any) -> Any:
    """An inbound WhatsApp message from ``PHONE``, ``minutes`` after T0."""
    fields.setdefault("channel_user_id", PHONE[1:])
    fields.setdefault("phone", PHONE)
    return message_event(
        provider_message_id=mid, occurred_at=T0 + timedelta(minutes=minutes), **fields
    )


async def new_customer(client: GatewayClient, name: str, **fields: Any) -> str:
    answer = await client.post("/v1/customers", json={"name": name, **fields}, headers=ACME)
    assert answer.status_code == 201, answer.text
    customer_id: str = answer.json()["id"]
    return customer_id


async def only_thread(client: GatewayClient, channel: str = "whatsapp") -> dict[str, Any]:
    [thread] = (await client.get(f"/v1/threads?channel={channel}", headers=ACME)).json()["items"]
    return dict(thread)


async def link(
    client: GatewayClient, thread_id: str, body: dict[str, Any], headers: dict[str, str] = ACME
) -> httpx.Response:
    return await client.put(f"/v1/threads/{thread_id}/customer", json=body, headers=headers)


async def communications(client: GatewayClient, customer_id: str) -> list[dict[str, Any]]:
    page = await client.get(f"/v1/customers/{customer_id}/communications", headers=ACME)
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def last_contact(client: GatewayClient, customer_id: str) -> datetime | None:
    profile = (await client.get(f"/v1/customers/{customer_id}", headers=ACME)).json()
    at = profile["analytics"]["last_contact_at"]
    return datetime.fromisoformat(at) if at else None


async def test_an_unlinked_thread_linked_by_hand_is_the_customers(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """The thread shows the customer with ``matched_by: manual``; its messages, not its
    notes, are the customer's communications; the last contact is its last message."""
    await messages.handle_batch([written("wamid.1", 0), written("wamid.2", 1)])
    thread = await only_thread(client)
    assert thread["customer"] is None
    note = await client.post(
        f"/v1/threads/{thread['id']}/notes", json={"text": "asked about kayaks"}, headers=ACME
    )
    assert note.status_code == 201
    ann = await new_customer(client, "Ann Lee")
    assert await last_contact(client, ann) is None
    answer = await link(client, thread["id"], {"customer_id": ann})
    assert answer.status_code == 200, answer.text
    linked = answer.json()
    assert linked["customer"] == {"id": ann, "name": "Ann Lee"}
    assert (linked["matched_by"], linked["candidates"]) == ("manual", [])
    assert linked["message_count"] == 2
    shown = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert shown == {**linked, "reply_window": shown["reply_window"]}
    found = await communications(client, ann)
    assert [(c["preview"], c["matched_by"]) for c in found] == [
        ("Hello", "manual"),
        ("Hello", "manual"),
    ]
    assert {c["thread_id"] for c in found} == {thread["id"]}
    assert await last_contact(client, ann) == T0 + timedelta(minutes=1)
    listed = (await client.get(f"/v1/threads?customer_id={ann}", headers=ACME)).json()
    assert [t["id"] for t in listed["items"]] == [thread["id"]]


async def test_an_ambiguous_thread_linked_by_hand_loses_its_candidates(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """Two customers share the phone: the thread is ambiguous until staff pick one."""
    one = await new_customer(client, "Ann Lee", phone=PHONE)
    two = await new_customer(client, "Bob Lee", phone=PHONE)
    await messages.handle_batch([written("wamid.1", 0)])
    thread = await only_thread(client)
    assert thread["customer"] is None
    assert sorted(thread["candidates"]) == sorted([one, two])
    answer = await link(client, thread["id"], {"customer_id": two})
    assert answer.status_code == 200, answer.text
    assert answer.json()["customer"]["id"] == two
    assert (answer.json()["matched_by"], answer.json()["candidates"]) == ("manual", [])
    assert [c["matched_by"] for c in await communications(client, two)] == ["manual"]
    assert await communications(client, one) == []


async def test_relinking_moves_communications_and_recomputes_the_previous_contact(
    messages: MessagesHandler, bookings: BookingsHandler, client: GatewayClient
) -> None:
    """A thread linked by phone to the wrong customer, given to the right one: its messages
    move; the previous customer's last contact falls back to their other conversation; a
    message arriving afterwards goes to the new customer."""
    await bookings.handle(booking_event(name="Ann Lee", emails=["ann@example.com"], phone=PHONE))
    by_mail = message_event(
        provider_message_id="mail-1",
        channel="email",
        provider="mailgun",
        channel_user_id="ann@example.com",
        phone=None,
        email="ann@example.com",
        occurred_at=T0 - timedelta(hours=1),
        text="by mail",
    )
    await messages.handle_batch([by_mail, written("wamid.1", 0), written("wamid.2", 5)])
    thread = await only_thread(client)
    ann = thread["customer"]["id"]
    assert thread["matched_by"] == "phone"
    assert await last_contact(client, ann) == T0 + timedelta(minutes=5)
    bea = await new_customer(client, "Bea Lee")
    answer = await link(client, thread["id"], {"customer_id": bea})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["customer"], answer.json()["matched_by"]) == (
        {"id": bea, "name": "Bea Lee"},
        "manual",
    )
    assert [c["preview"] for c in await communications(client, ann)] == ["by mail"]
    assert await last_contact(client, ann) == T0 - timedelta(hours=1)
    assert len(await communications(client, bea)) == 2
    assert await last_contact(client, bea) == T0 + timedelta(minutes=5)
    # Ann's phone still writes on the thread: it is Bea's conversation now.
    await messages.handle_batch([written("wamid.3", 10, text="still me")])
    after = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert (after["customer"]["id"], after["matched_by"]) == (bea, "manual")
    assert [c["preview"] for c in await communications(client, bea)] == [
        "still me",
        "Hello",
        "Hello",
    ]
    assert await last_contact(client, bea) == T0 + timedelta(minutes=10)
    assert [c["preview"] for c in await communications(client, ann)] == ["by mail"]
    assert await last_contact(client, ann) == T0 - timedelta(hours=1)


async def test_a_reference_does_not_undo_a_link_by_hand(
    messages: MessagesHandler, bookings: BookingsHandler, client: GatewayClient
) -> None:
    """Two threads linked by email and phone open with a booking's code; the booking then
    arrives. The reference outranks the email, so that thread moves to the booker; the one
    staff linked by hand stays where they put it."""
    code = confirmation_code("b-later")
    await bookings.handle(
        booking_event(booking_id="b-1", name="Ann Lee", emails=["ann@example.com"], phone=PHONE)
    )
    await messages.handle_batch(
        [
            written("wamid.1", 0, text=f"About {code}", references=[code]),
            message_event(
                provider_message_id="mail-1",
                channel="email",
                provider="mailgun",
                channel_user_id="ann@example.com",
                phone=None,
                email="ann@example.com",
                occurred_at=T0,
                text=f"About {code}",
                references=[code],
            ),
        ]
    )
    whatsapp, email = await only_thread(client), await only_thread(client, "email")
    assert (whatsapp["matched_by"], email["matched_by"]) == ("phone", "email")
    bea = await new_customer(client, "Bea Lee")
    assert (await link(client, whatsapp["id"], {"customer_id": bea})).status_code == 200
    await bookings.handle(
        booking_event(booking_id="b-later", name="Cy Ray", emails=["cy@example.com"])
    )
    [cy] = (await client.get("/v1/customers?q=cy@example.com", headers=ACME)).json()["items"]
    moved = (await client.get(f"/v1/threads/{email['id']}", headers=ACME)).json()
    assert (moved["customer"]["id"], moved["matched_by"]) == (cy["id"], "reference")
    kept = (await client.get(f"/v1/threads/{whatsapp['id']}", headers=ACME)).json()
    assert (kept["customer"]["id"], kept["matched_by"]) == (bea, "manual")
    assert [c["matched_by"] for c in await communications(client, bea)] == ["manual"]


async def test_a_thread_of_two_customers_becomes_wholly_the_one_chosen(
    messages: MessagesHandler, client: GatewayClient, store: Store
) -> None:
    """Two threads of one person, linked to two customers, made one: the survivor keeps its
    customer and the moved messages keep theirs, until staff link it. Then every message is
    the chosen customer's, and neither earlier customer has a contact left."""
    user = "US.13491208655302741918"
    ann = await new_customer(client, "Ann Lee", phone=PHONE)
    bo = await new_customer(
        client, "Bo Lee", channel_identities=[{"channel": "whatsapp", "channel_user_id": user}]
    )
    await messages.handle_batch([written("wamid.p1", 0)])
    await messages.handle_batch(
        [written("wamid.u1", 1, channel_user_id=user, phone=None, user_id=user)]
    )
    await messages.handle_batch([written("wamid.b1", 2, user_id=user)])
    thread = await only_thread(client)
    assert thread["customer"]["id"] == ann
    assert len(await communications(client, bo)) == 1
    cy = await new_customer(client, "Cy Ray")
    answer = await link(client, thread["id"], {"customer_id": cy})
    assert answer.status_code == 200, answer.text
    assert len(await communications(client, cy)) == 3
    assert (await communications(client, ann), await communications(client, bo)) == ([], [])
    assert (await last_contact(client, ann), await last_contact(client, bo)) == (None, None)
    assert await last_contact(client, cy) == T0 + timedelta(minutes=2)
    retired = await store.database["threads"].find_one({"merged_into": thread["id"]})
    assert retired is not None
    gone = await link(client, retired["_id"], {"customer_id": cy})
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == {"merged_into": thread["id"]}


async def test_linking_to_the_customer_it_has_changes_nothing(
    messages: MessagesHandler, bookings: BookingsHandler, client: GatewayClient
) -> None:
    await bookings.handle(booking_event(name="Ann Lee", phone=PHONE))
    await messages.handle_batch([written("wamid.1", 0)])
    thread = await only_thread(client)
    answer = await link(client, thread["id"], {"customer_id": thread["customer"]["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**thread, "reply_window": answer.json()["reply_window"]}
    [message] = await communications(client, thread["customer"]["id"])
    assert message["matched_by"] == "phone"


async def test_an_unknown_or_merged_customer_is_404(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """404 naming the customer, with ``merged_into`` for a merged one; the thread is left
    as it was."""
    await messages.handle_batch([written("wamid.1", 0)])
    thread = await only_thread(client)
    unknown = await link(client, thread["id"], {"customer_id": "no-such-customer"})
    assert unknown.status_code == 404
    assert error_code(unknown.json()) == "not_found"
    assert unknown.json()["error"]["message"] == "customer not found"
    survivor = await new_customer(client, "Ann Lee")
    other = await new_customer(client, "Ann L.")
    merged = await client.post(
        f"/v1/customers/{survivor}/merge", json={"other_id": other}, headers=ACME
    )
    assert merged.status_code == 200, merged.text
    gone = await link(client, thread["id"], {"customer_id": other})
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == {"merged_into": survivor}
    after = (await client.get(f"/v1/threads/{thread['id']}", headers=ACME)).json()
    assert (after["customer"], after["matched_by"]) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        {"customer_id": "c-1", "matched_by": "email"},
        {},
        {"customer_id": ""},
        {"customer_id": 7},
    ],
)
async def test_a_body_that_breaks_the_schema_is_422(
    messages: MessagesHandler, client: GatewayClient, body: dict[str, Any]
) -> None:
    await messages.handle_batch([written("wamid.1", 0)])
    thread = await only_thread(client)
    answer = await link(client, thread["id"], body)
    assert answer.status_code == 422, answer.text
    assert error_code(answer.json()) == "validation_error"


async def test_a_group_thread_is_nobodys(messages: MessagesHandler, client: GatewayClient) -> None:
    """A group's thread cannot be linked: 409, and it stays unlinked."""
    await messages.handle_batch([written("wamid.g1", 0, group_id="120363000000000001@g.us")])
    thread = await only_thread(client)
    ann = await new_customer(client, "Ann Lee")
    answer = await link(client, thread["id"], {"customer_id": ann})
    assert answer.status_code == 409, answer.text
    assert error_code(answer.json()) == "conflict"
    assert (await only_thread(client))["customer"] is None
    assert await communications(client, ann) == []


async def test_another_tenants_or_an_unknown_thread_is_404(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    await messages.handle_batch([written("wamid.1", 0)])
    thread = await only_thread(client)
    ann = await new_customer(client, "Ann Lee")
    other = await link(client, thread["id"], {"customer_id": ann}, headers=GLOBEX)
    assert other.status_code == 404
    assert other.json()["error"]["message"] == "thread not found"
    unknown = await link(client, "no-such-thread", {"customer_id": ann})
    assert unknown.status_code == 404
    assert (await only_thread(client))["customer"] is None
    assert await communications(client, ann) == []


async def test_a_link_by_hand_appears_on_the_live_stream(
    settings: Settings, messages: MessagesHandler
) -> None:
    await messages.handle_batch([written("wamid.live", 0)])
    async with served(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        [thread] = (await http.get("/v1/threads", headers=ACME)).json()["items"]
        made = await http.post("/v1/customers", json={"name": "Ann Lee"}, headers=ACME)
        ann = made.json()["id"]
        async with http.stream("GET", "/v1/events", headers=ACME) as stream:
            events = EventReader(stream)
            answer = await http.put(
                f"/v1/threads/{thread['id']}/customer", json={"customer_id": ann}, headers=ACME
            )
            assert answer.status_code == 200, answer.text
            changed = await events.next_event("thread")
    assert changed["data"]["id"] == thread["id"]
    assert changed["data"]["customer"] == {"id": ann, "name": "Ann Lee"}
    assert changed["data"]["matched_by"] == "manual"
