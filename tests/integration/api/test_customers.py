"""``/v1/customers`` against the real database, filled by the real bookings and messages
handlers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from domain.store.database import Store
from tests.factories import booking_event, message_event
from tests.integration.api.conftest import ACME, error_code
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


async def customer_named(client: GatewayClient, name: str) -> dict[str, Any]:
    found = (await client.get(f"/v1/customers?q={name}", headers=ACME)).json()["items"]
    assert len(found) == 1, found
    item: dict[str, Any] = found[0]
    return item


async def test_profile_with_analytics_and_known_customers(
    client: GatewayClient, bookings: BookingsHandler
) -> None:
    """A profile shows identifiers, exact totals per currency and who they booked for."""
    await bookings.handle(
        booking_event(
            booking_id="b-1",
            name="Ann Lee",
            phone="+447911100001",
            external_id="CRM-7",
            grand_total="120.50",
            guests=[{"name": "Bo Lee", "email": "bo@example.com"}],
        )
    )
    await bookings.handle(booking_event(booking_id="b-2", name="Ann Lee", grand_total="10.25"))
    ann = await customer_named(client, "Ann")
    profile = (await client.get(f"/v1/customers/{ann['id']}", headers=ACME)).json()
    assert profile["emails"] == ["ann@example.com"]
    assert profile["phone"] == "+447911100001"
    assert profile["external_id"] == "CRM-7"
    assert profile["source"] == "online"
    assert profile["analytics"]["total_bookings"] == 2
    assert profile["analytics"]["total_spent"] == [{"currency": "GBP", "amount": "130.75"}]
    assert profile["analytics"]["lifetime_value"] == profile["analytics"]["total_spent"]
    assert [k["name"] for k in profile["known_customers"]] == ["Bo Lee"]
    bo = await customer_named(client, "bo@example.com")
    guest = (await client.get(f"/v1/customers/{bo['id']}/guest-bookings", headers=ACME)).json()
    assert guest["total"] == 1
    assert guest["items"][0]["booked_by"] == ann["id"]
    assert guest["items"][0]["activity_name"] == "Kayak tour"
    own = (await client.get(f"/v1/customers/{ann['id']}/bookings", headers=ACME)).json()
    assert sorted(b["booking_id"] for b in own["items"]) == ["b-1", "b-2"]


async def test_search_by_name_email_phone_and_external_id(
    client: GatewayClient, bookings: BookingsHandler
) -> None:
    """q finds part of a name, any email, a phone in any format and the external id,
    ignoring case and accents."""
    await bookings.handle(
        booking_event(
            booking_id="b-1",
            name="José Núñez",
            emails=["jose@example.com", "work@corp.example"],
            phone="+14155550123",
            external_id="CRM-77",
        )
    )
    await bookings.handle(
        booking_event(booking_id="b-2", name="Mary Jones", emails=["mary@example.com"])
    )
    for q in (
        "nunez",
        "NÚÑ",
        "nu",
        "WORK@corp.example",
        "(415) 555-0123",
        "+1 415.555.0123",
        "crm-77",
    ):
        found = (await client.get("/v1/customers", params={"q": q}, headers=ACME)).json()
        assert [c["name"] for c in found["items"]] == ["José Núñez"], q
        assert found["total"] == 1
    nobody = (await client.get("/v1/customers?q=zzz", headers=ACME)).json()
    assert nobody == {"items": [], "page": 1, "per_page": 50, "total": 0}


async def test_filters_sorts_and_pages(client: GatewayClient, bookings: BookingsHandler) -> None:
    """source and tag filter; sorts order; per_page and page split with a stable total."""
    for index, (name, source, count) in enumerate(
        [("Cara", "online", 1), ("Abe", "phone", 3), ("Bea", "online", 2)]
    ):
        for n in range(count):
            await bookings.handle(
                booking_event(
                    booking_id=f"b-{index}-{n}",
                    name=name,
                    emails=[f"{name.lower()}@example.com"],
                    source=source,
                    created_at=T0 + timedelta(days=index, hours=n),
                )
            )
    names = lambda body: [c["name"] for c in body["items"]]  # noqa: E731
    by_name = (await client.get("/v1/customers?sort=name", headers=ACME)).json()
    assert names(by_name) == ["Abe", "Bea", "Cara"]
    busiest = (await client.get("/v1/customers?sort=-total_bookings", headers=ACME)).json()
    assert names(busiest) == ["Abe", "Bea", "Cara"]
    latest = (await client.get("/v1/customers?sort=-last_booking_at", headers=ACME)).json()
    assert names(latest) == ["Bea", "Abe", "Cara"]
    online = (await client.get("/v1/customers?source=online&sort=name", headers=ACME)).json()
    assert names(online) == ["Bea", "Cara"]
    first = (await client.get("/v1/customers?sort=name&per_page=2", headers=ACME)).json()
    second = (await client.get("/v1/customers?sort=name&per_page=2&page=2", headers=ACME)).json()
    assert (names(first), names(second)) == (["Abe", "Bea"], ["Cara"])
    assert first["total"] == second["total"] == 3
    bea = await customer_named(client, "Bea")
    await client.patch(f"/v1/customers/{bea['id']}", json={"tags": ["vip"]}, headers=ACME)
    vip = (await client.get("/v1/customers?tag=vip", headers=ACME)).json()
    assert names(vip) == ["Bea"]
    bad = await client.get("/v1/customers?sort=bogus", headers=ACME)
    assert bad.status_code == 400


async def test_create_links_earlier_conversations(
    client: GatewayClient, messages: MessagesHandler
) -> None:
    """A customer created on the dashboard has source dashboard and takes over the earlier
    unlinked thread with their phone; creating another with the same email is a conflict."""
    await messages.handle_batch(
        [message_event(channel_user_id="447911100009", phone="+447911100009", occurred_at=T0)]
    )
    created = await client.post(
        "/v1/customers",
        json={"name": "Dee", "emails": ["Dee@Example.com"], "phone": "+44 7911 100009"},
        headers=ACME,
    )
    assert created.status_code == 201, created.text
    dee = created.json()
    assert dee["source"] == "dashboard"
    assert dee["emails"] == ["dee@example.com"]
    assert dee["phone"] == "+447911100009"
    threads = (await client.get(f"/v1/customers/{dee['id']}/threads", headers=ACME)).json()
    assert len(threads["items"]) == 1
    assert threads["items"][0]["customer"] == {"id": dee["id"], "name": "Dee"}
    again = await client.post(
        "/v1/customers", json={"name": "Other", "emails": ["dee@example.com"]}, headers=ACME
    )
    assert again.status_code == 409
    assert error_code(again.json()) == "conflict"
    invalid = await client.post("/v1/customers", json={"emails": ["nope"]}, headers=ACME)
    assert invalid.status_code == 422
    assert error_code(invalid.json()) == "validation_error"


async def test_patch_phone_moves_old_one_and_links_new_threads(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler
) -> None:
    """A replaced phone moves to previous_phones, still matches new messages, and threads
    with the new phone become the customer's."""
    await bookings.handle(booking_event(name="Ann Lee", phone="+447911100001"))
    await messages.handle_batch(
        [message_event(channel_user_id="447911100002", phone="+447911100002", occurred_at=T0)]
    )
    ann = await customer_named(client, "Ann")
    response = await client.patch(
        f"/v1/customers/{ann['id']}",
        json={"phone": "+44 7911 100002", "notes": "prefers mornings"},
        headers=ACME,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["phone"] == "+447911100002"
    assert updated["previous_phones"] == ["+447911100001"]
    assert updated["notes"] == "prefers mornings"
    threads = (await client.get(f"/v1/customers/{ann['id']}/threads", headers=ACME)).json()
    assert [t["participant"]["phone"] for t in threads["items"]] == ["+447911100002"]
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.old",
                channel_user_id="447911100001",
                phone="+447911100001",
                occurred_at=T0 + timedelta(hours=1),
            )
        ]
    )
    comms = (await client.get(f"/v1/customers/{ann['id']}/communications", headers=ACME)).json()
    assert comms["total"] == 2
    assert [c["matched_by"] for c in comms["items"]] == ["previous_phone", "phone"]
    assert comms["items"][0]["counterpart"] == "+447911100001"
    unknown_field = await client.patch(
        f"/v1/customers/{ann['id']}", json={"favourite": "x"}, headers=ACME
    )
    assert unknown_field.status_code == 422


async def test_delete_unlinks_and_keeps_bookings(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler, store: Store
) -> None:
    """After delete the profile is gone, its thread unlinked, its booking kept."""
    await bookings.handle(booking_event(name="Ann Lee", phone="+447911100001"))
    await messages.handle_batch(
        [message_event(channel_user_id="447911100001", phone="+447911100001", occurred_at=T0)]
    )
    ann = await customer_named(client, "Ann")
    assert (await client.delete(f"/v1/customers/{ann['id']}", headers=ACME)).status_code == 204
    assert (await client.get(f"/v1/customers/{ann['id']}", headers=ACME)).status_code == 404
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    assert thread["customer"] is None
    stored = await store.bookings.get("acme", "b-1")
    assert stored is not None
    assert stored["customer_id"] is None
    assert stored["customer"]["name"] == "Ann Lee"
    assert (await client.delete(f"/v1/customers/{ann['id']}", headers=ACME)).status_code == 404


async def test_merge_moves_everything_and_retires_the_other(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler
) -> None:
    """Bookings, threads, identifiers and analytics move to the survivor; the other id
    answers 404 with merged_into; different external ids refuse to merge."""
    await bookings.handle(
        booking_event(booking_id="b-1", name="Ann Lee", emails=["ann@example.com"])
    )
    await bookings.handle(
        booking_event(
            booking_id="b-2",
            name="Ann L.",
            emails=["ann.work@example.com"],
            phone="+447911100001",
            grand_total="50.00",
        )
    )
    await messages.handle_batch(
        [message_event(channel_user_id="447911100001", phone="+447911100001", occurred_at=T0)]
    )
    survivor = await customer_named(client, "ann@example.com")
    other = await customer_named(client, "ann.work@example.com")
    assert survivor["id"] != other["id"]
    merged = await client.post(
        f"/v1/customers/{survivor['id']}/merge", json={"other_id": other["id"]}, headers=ACME
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["emails"] == ["ann@example.com", "ann.work@example.com"]
    assert body["phone"] == "+447911100001"
    assert body["analytics"]["total_bookings"] == 2
    assert body["analytics"]["total_spent"] == [{"currency": "GBP", "amount": "150.00"}]
    assert body["analytics"]["last_contact_at"] is not None
    gone = await client.get(f"/v1/customers/{other['id']}", headers=ACME)
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == {"merged_into": survivor["id"]}
    threads = (await client.get(f"/v1/customers/{survivor['id']}/threads", headers=ACME)).json()
    assert len(threads["items"]) == 1
    listed = (await client.get("/v1/customers", headers=ACME)).json()
    assert [c["id"] for c in listed["items"]] == [survivor["id"]]
    await bookings.handle(
        booking_event(booking_id="b-3", name="Cy", emails=["cy@example.com"], external_id="X1")
    )
    await bookings.handle(
        booking_event(booking_id="b-4", name="Cy", emails=["cy2@example.com"], external_id="X2")
    )
    one, two = (await client.get("/v1/customers?q=Cy", headers=ACME)).json()["items"]
    refused = await client.post(
        f"/v1/customers/{one['id']}/merge", json={"other_id": two["id"]}, headers=ACME
    )
    assert refused.status_code == 409
    itself = await client.post(
        f"/v1/customers/{one['id']}/merge", json={"other_id": one["id"]}, headers=ACME
    )
    assert itself.status_code == 409


async def test_communications_newest_first_and_paged(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler
) -> None:
    """Communications on every channel come newest first, paged with a total."""
    await bookings.handle(booking_event(name="Ann Lee", phone="+447911100001"))
    await messages.handle_batch(
        [
            message_event(
                provider_message_id=f"wamid.{n}",
                channel_user_id="447911100001",
                phone="+447911100001",
                occurred_at=T0 + timedelta(minutes=n),
                text=f"m{n}",
            )
            for n in range(5)
        ]
        + [
            message_event(
                provider_message_id="mail-1",
                channel="email",
                provider="mailgun",
                channel_user_id="ann@example.com",
                phone=None,
                email="ann@example.com",
                occurred_at=T0 + timedelta(minutes=10),
                text="by mail",
            )
        ]
    )
    ann = await customer_named(client, "Ann")
    url = f"/v1/customers/{ann['id']}/communications"
    first = (await client.get(f"{url}?per_page=4", headers=ACME)).json()
    second = (await client.get(f"{url}?per_page=4&page=2", headers=ACME)).json()
    assert first["total"] == 6
    assert [c["preview"] for c in first["items"] + second["items"]] == [
        "by mail",
        "m4",
        "m3",
        "m2",
        "m1",
        "m0",
    ]
    assert first["items"][0]["channel"] == "email"
    assert first["items"][0]["matched_by"] == "email"


async def test_chained_merges_point_at_the_last_survivor(client: GatewayClient) -> None:
    """B merged into A, then A into C: both B and A answer 404 with merged_into C."""
    ids = []
    for name in ("Al", "Bo", "Cy"):
        created = await client.post(
            "/v1/customers", json={"name": name, "emails": [f"{name}@x.com"]}, headers=ACME
        )
        ids.append(created.json()["id"])
    a, b, c = ids
    for survivor, other in ((a, b), (c, a)):
        merged = await client.post(
            f"/v1/customers/{survivor}/merge", json={"other_id": other}, headers=ACME
        )
        assert merged.status_code == 200, merged.text
    for gone in (a, b):
        response = await client.get(f"/v1/customers/{gone}", headers=ACME)
        assert response.status_code == 404
        assert response.json()["error"]["details"] == {"merged_into": c}
    emails = (await client.get(f"/v1/customers/{c}", headers=ACME)).json()["emails"]
    assert emails == ["cy@x.com", "al@x.com", "bo@x.com"]
