"""Edits, revokes, groups, quoted replies and receipts of 2026 (v1.1) against the real
database, through the real messages and statuses handlers, read back through the API."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.messages import MessagesHandler
from consumers.statuses import StatusesHandler
from contracts import IdentityEvent, StatusEvent, TenantDirectory, change_event_id, status_event_id
from domain.store.database import Store
from tests.factories import edit_event, message_event
from tests.integration.api.conftest import ACME
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
_COMPARED = ("content", "original_content", "versions", "edited_at", "preview", "deleted")


async def stored(store: Store, provider_message_id: str) -> dict[str, Any]:
    found: dict[str, Any] | None = await store.database["messages"].find_one(
        {"provider_message_id": provider_message_id}
    )
    assert found is not None, provider_message_id
    return found


async def thread_of(client: GatewayClient, phone: str) -> dict[str, Any]:
    listing = (await client.get("/v1/threads", headers=ACME)).json()
    [thread] = [t for t in listing["items"] if t["participant"].get("phone") == phone]
    assert isinstance(thread, dict)
    return thread


async def messages_of(client: GatewayClient, thread_id: str) -> list[dict[str, Any]]:
    page = await client.get(f"/v1/threads/{thread_id}/messages", headers=ACME)
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def _person(n: int) -> dict[str, Any]:
    return {"channel_user_id": f"4479117{n:05d}", "phone": f"+4479117{n:05d}"}


async def test_an_edit_before_or_after_its_original_gives_the_same_message(
    messages: MessagesHandler, store: Store
) -> None:
    """Original then two edits, against the two edits (one of them twice) then the
    original: the same content, versions, edit time and preview."""
    results: list[dict[str, Any]] = []
    for n, order in enumerate(("original first", "edits first")):
        person = _person(n)
        original = message_event(
            provider_message_id=f"wamid.o{n}", text="See you at 9", occurred_at=T0, **person
        )
        edits = [
            edit_event(
                target=f"wamid.o{n}",
                provider_message_id=f"wamid.e{n}.{k}",
                text=text,
                occurred_at=T0 + timedelta(minutes=k + 1),
                channel_user_id=person["channel_user_id"],
            )
            for k, text in enumerate(("See you at 10", "See you at 10:30"))
        ]
        if order == "original first":
            await messages.handle_batch([original])
            await messages.handle_batch([edits[1]])
            await messages.handle_batch([edits[0]])
        else:
            await messages.handle_batch([edits[1], edits[0]])
            await messages.handle_batch([edits[0]])
            await messages.handle_batch([original])
        message = await stored(store, f"wamid.o{n}")
        results.append({k: message.get(k) for k in _COMPARED})
    assert results[0] == results[1]
    assert results[0]["content"]["text"] == "See you at 10:30"
    assert [v["content"]["text"] for v in results[0]["versions"]] == [
        "See you at 9",
        "See you at 10",
    ]
    assert results[0]["preview"] == "See you at 10:30"
    assert results[0]["edited_at"].replace(tzinfo=UTC) == T0 + timedelta(minutes=2)


async def test_an_edit_shows_in_the_thread_and_its_messages(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    person = _person(10)
    await messages.handle_batch(
        [message_event(provider_message_id="wamid.x", text="Two of us", occurred_at=T0, **person)]
    )
    await messages.handle_batch(
        [
            edit_event(
                target="wamid.x", text="Three of us", channel_user_id=person["channel_user_id"]
            )
        ]
    )
    thread = await thread_of(client, person["phone"])
    assert thread["last_message"]["preview"] == "Three of us"
    [message] = await messages_of(client, thread["id"])
    assert message["content"]["text"] == "Three of us"
    assert message["edited_at"] is not None


async def test_a_revoke_hides_the_text_everywhere_the_api_shows_it(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """The thread preview and the message page no longer say what the unsent message said,
    whether the revoke came after the message or before it."""
    for n, revoke_first in ((20, False), (21, True)):
        person = _person(n)
        secret = f"my card number is 4111 {n}"
        original = message_event(
            provider_message_id=f"wamid.r{n}", text=secret, occurred_at=T0, **person
        )
        revoke = edit_event(
            target=f"wamid.r{n}",
            provider_message_id=f"wamid.rv{n}",
            text=None,
            channel_user_id=person["channel_user_id"],
        )
        await messages.handle_batch([revoke if revoke_first else original])
        await messages.handle_batch([original if revoke_first else revoke])
        thread = await thread_of(client, person["phone"])
        [message] = await messages_of(client, thread["id"])
        assert message["deleted"] is True
        assert thread["last_message"]["preview"] == "Message deleted"
        assert secret not in json.dumps(thread) + json.dumps(message)


async def test_a_group_message_does_not_join_the_senders_own_thread(
    messages: MessagesHandler, client: GatewayClient, store: Store
) -> None:
    person = _person(30)
    await messages.handle_batch(
        [message_event(provider_message_id="wamid.own", text="Just me", occurred_at=T0, **person)]
    )
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.grp",
                text="Hello group",
                occurred_at=T0 + timedelta(minutes=1),
                group_id="120363000000000001@g.us",
                **person,
            )
        ]
    )
    threads = await store.database["threads"].find({}).to_list()
    assert len(threads) == 2
    own = await stored(store, "wamid.own")
    grouped = await stored(store, "wamid.grp")
    assert own["thread_id"] != grouped["thread_id"]
    assert grouped["participant"]["phone"] == person["phone"]  # the sender is kept
    [group_thread] = [t for t in threads if t["_id"] == grouped["thread_id"]]
    assert group_thread["participant"]["channel_user_id"] == "120363000000000001@g.us"
    assert group_thread.get("customer_id") is None


async def test_a_reply_names_its_target_once_the_target_is_stored(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """``reply_to`` is null while the quoted message is unknown and filled in once it
    arrives."""
    person = _person(40)
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.reply",
                text="Yes, that one",
                occurred_at=T0 + timedelta(minutes=1),
                reply_to="wamid.quoted",
                **person,
            )
        ]
    )
    thread = await thread_of(client, person["phone"])
    [reply] = await messages_of(client, thread["id"])
    assert reply["reply_to"] is None
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.quoted",
                text="The 9am kayak tour?",
                occurred_at=T0,
                **person,
            )
        ]
    )
    quoted, reply = await messages_of(client, thread["id"])
    assert reply["reply_to"] == {
        "id": quoted["id"],
        "preview": "The 9am kayak tour?",
        "direction": "inbound",
    }


async def test_played_and_read_stand_beside_each_other_and_pricing_is_kept(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """A voice message read then played stays read; played after delivered moves it; a
    receipt's pricing and conversation are kept on the message."""
    statuses = StatusesHandler(store, tenants)
    for n in (50, 51):
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.v{n}",
                    direction="outbound",
                    occurred_at=T0,
                    **_person(n),
                )
            ]
        )

    def receipt(n: int, status: str, **extra: Any) -> StatusEvent:
        return StatusEvent.model_validate(
            {
                "event_id": status_event_id("whatsapp", "meta", f"wamid.v{n}", status),
                "tenant_id": "acme",
                "channel": "whatsapp",
                "provider": "meta",
                "provider_message_id": f"wamid.v{n}",
                "status": status,
                "occurred_at": T0 + timedelta(minutes=1),
                "received_at": T0 + timedelta(minutes=1),
                "participant": {"channel_user_id": _person(n)["channel_user_id"]},
                **extra,
            }
        )

    pricing = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    conversation = {"id": "c0ffee", "origin_type": "utility"}
    await statuses.handle(receipt(50, "delivered", pricing=pricing, conversation=conversation))
    await statuses.handle(receipt(50, "played"))
    await statuses.handle(receipt(51, "read"))
    await statuses.handle(receipt(51, "played"))
    played, read = await stored(store, "wamid.v50"), await stored(store, "wamid.v51")
    assert played["status"] == "played"
    assert read["status"] == "read"
    assert played["pricing"] == pricing
    assert played["conversation"] == conversation


async def test_a_phone_thread_and_a_user_id_thread_of_one_person_become_one(
    messages: MessagesHandler, client: GatewayClient, store: Store
) -> None:
    """(v1.1) A WhatsApp thread known by the phone and one known by the business-scoped user
    id; a message carrying both shows they are one person: one thread with every message
    once, and the retired id answers 404 naming the survivor."""
    phone, user = "+447911000777", "US.13491208655302741918"
    await messages.handle_batch(
        [message_event(provider_message_id="wamid.p1", channel_user_id=phone[1:], phone=phone)]
    )
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.u1",
                channel_user_id=user,
                phone=None,
                user_id=user,
                occurred_at=T0 + timedelta(minutes=1),
            )
        ]
    )
    assert await store.database["threads"].count_documents({}) == 2
    both = message_event(
        provider_message_id="wamid.b1",
        channel_user_id=phone[1:],
        phone=phone,
        user_id=user,
        occurred_at=T0 + timedelta(minutes=2),
    )
    await messages.handle_batch([both])
    await messages.handle_batch([both])  # delivered again
    threads = await store.database["threads"].find({}).to_list()
    [survivor] = [t for t in threads if not t.get("merged_into")]
    [retired] = [t for t in threads if t.get("merged_into")]
    assert retired["merged_into"] == survivor["_id"]
    listing = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    assert [t["id"] for t in listing] == [survivor["_id"]]
    assert listing[0]["message_count"] == 3
    page = await messages_of(client, survivor["_id"])
    assert sorted(m["provider_message_id"] for m in page) == ["wamid.b1", "wamid.p1", "wamid.u1"]
    gone = await client.get(f"/v1/threads/{retired['_id']}", headers=ACME)
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == {"merged_into": survivor["_id"]}
    # A later message under either key alone joins the survivor.
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.u2",
                channel_user_id=user,
                phone=None,
                user_id=user,
                occurred_at=T0 + timedelta(minutes=3),
            )
        ]
    )
    assert (await stored(store, "wamid.u2"))["thread_id"] == survivor["_id"]


async def test_a_changed_number_joins_the_new_numbers_thread_to_the_old_one(
    messages: MessagesHandler, store: Store
) -> None:
    """The person wrote from the new number before WhatsApp's user_changed_number arrived:
    the notice makes the two threads one, and later messages from either number join it."""
    old, new = "+447911000881", "+447911000882"
    await messages.handle_batch(
        [message_event(provider_message_id="wamid.old", channel_user_id=old[1:], phone=old)]
    )
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.new",
                channel_user_id=new[1:],
                phone=new,
                occurred_at=T0 + timedelta(minutes=1),
            )
        ]
    )
    change = IdentityEvent.model_validate(
        {
            "event_id": change_event_id("identity", "whatsapp", "meta", "wamid.sys"),
            "tenant_id": "acme",
            "channel": "whatsapp",
            "provider": "meta",
            "provider_message_id": "wamid.sys",
            "change": "number",
            "occurred_at": T0 + timedelta(minutes=2),
            "received_at": T0 + timedelta(minutes=2),
            "participant": {"channel_user_id": old[1:], "phone": old},
            "business": {"channel_account_id": "106540352242922"},
            "new_channel_user_id": new[1:],
            "new_phone": new,
        }
    )
    await messages.handle_batch([change])
    await messages.handle_batch([change])
    live = await store.database["threads"].find({"merged_into": {"$exists": False}}).to_list()
    [thread] = live
    assert thread["message_count"] == 2
    assert thread["participant"]["phone"] == new
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.new2",
                channel_user_id=new[1:],
                phone=new,
                occurred_at=T0 + timedelta(minutes=3),
            )
        ]
    )
    assert (await stored(store, "wamid.new2"))["thread_id"] == thread["_id"]
