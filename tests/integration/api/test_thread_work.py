"""(v1.1) Working a conversation: status, snooze, assignee and labels through
``PATCH /v1/threads/{id}``, the reopen rule in the messages worker, the reply window, and the
changes on the live stream."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from consumers.messages import MessagesHandler
from contracts import Settings
from domain.store.database import Store
from tests.factories import message_event
from tests.integration.api.conftest import ACME, GLOBEX, served
from tests.integration.api.test_events import EventReader
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

PHONE = "+447911000333"


def _written(minutes_ago: float, mid: str) -> Any:
    return message_event(
        provider_message_id=mid,
        channel_user_id=PHONE[1:],
        phone=PHONE,
        occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


async def a_thread(messages: MessagesHandler, client: GatewayClient) -> str:
    await messages.handle_batch([_written(60, "wamid.w0")])
    [thread] = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    thread_id: str = thread["id"]
    return thread_id


async def patch(client: GatewayClient, thread_id: str, **body: Any) -> httpx.Response:
    return await client.patch(f"/v1/threads/{thread_id}", json=body, headers=ACME)


async def test_status_assignee_and_labels_change_and_show(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread_id = await a_thread(messages, client)
    listed = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    assert (listed["status"], listed["assignee"], listed["labels"]) == ("open", None, [])
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for body, expected in [
        ({"status": "pending"}, ("pending", None)),
        ({"status": "resolved"}, ("resolved", None)),
        ({"status": "snoozed", "snoozed_until": later}, ("snoozed", later)),
        ({"status": "open"}, ("open", None)),
    ]:
        answer = await patch(client, thread_id, **body)
        assert answer.status_code == 200, answer.text
        got = answer.json()
        until = got["snoozed_until"] and datetime.fromisoformat(got["snoozed_until"])
        wanted = expected[1] and datetime.fromisoformat(expected[1])
        assert got["status"] == expected[0], body
        # Stored to the millisecond, as MongoDB keeps times.
        assert (until and until.replace(microsecond=until.microsecond // 1000 * 1000)) == (
            wanted and wanted.replace(microsecond=wanted.microsecond // 1000 * 1000)
        ), body
    answer = await patch(client, thread_id, assignee="agent-7", labels=["vip", " refund ", "vip"])
    assert (answer.json()["assignee"], answer.json()["labels"]) == ("agent-7", ["vip", "refund"])
    answer = await patch(client, thread_id, assignee=None)
    assert (answer.json()["assignee"], answer.json()["labels"]) == (None, ["vip", "refund"])
    again = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    assert (again["status"], again["labels"]) == ("open", ["vip", "refund"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "snoozed"}, "snoozed_until"),
        ({"status": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"}, "snoozed_until"),
        ({"status": "open", "snoozed_until": "2099-01-01T00:00:00Z"}, "snoozed_until"),
        ({"status": "closed"}, "status"),
        ({"labels": ["x"] * 51}, "labels"),
        ({"labels": [""]}, "labels.0"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_change_that_cannot_be_made_is_422_naming_the_field(
    messages: MessagesHandler, client: GatewayClient, body: dict[str, Any], field: str
) -> None:
    thread_id = await a_thread(messages, client)
    answer = await patch(client, thread_id, **body)
    assert answer.status_code == 422, answer.text
    fields = [item["key"] for item in answer.json()["error"]["details"]]
    assert any(f == field or f.startswith(field) for f in fields), fields


async def test_a_new_message_reopens_once_and_a_late_old_one_does_not(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """Resolved, then the customer writes: open. Resolved again: the same message delivered
    again, or one written before the resolve that arrives late, leaves it resolved."""
    thread_id = await a_thread(messages, client)
    assert (await patch(client, thread_id, status="resolved")).status_code == 200
    new = message_event(
        provider_message_id="wamid.w1",
        channel_user_id=PHONE[1:],
        phone=PHONE,
        occurred_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    await messages.handle_batch([new])
    state = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    assert state["status"] == "open"
    assert (await patch(client, thread_id, status="resolved")).status_code == 200
    await messages.handle_batch([new])  # delivered again
    await messages.handle_batch([_written(30, "wamid.late")])  # written before the resolve
    state = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    assert state["status"] == "resolved"
    assert state["message_count"] == 3


async def test_a_snoozed_thread_past_its_time_is_open(
    messages: MessagesHandler, client: GatewayClient, store: Store
) -> None:
    thread_id = await a_thread(messages, client)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await patch(client, thread_id, status="snoozed", snoozed_until=later)
    # Time passes: the snooze ends.
    await store.database["threads"].update_one(
        {"_id": thread_id}, {"$set": {"snoozed_until": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    assert (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()["status"] == "open"


async def test_the_reply_window_follows_the_last_inbound_message(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread_id = await a_thread(messages, client)
    thread = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    inbound = datetime.fromisoformat(thread["last_inbound_at"])
    assert thread["reply_window"]["rule"] == "24h"
    assert thread["reply_window"]["open"] is True
    assert datetime.fromisoformat(thread["reply_window"]["closes_at"]) == inbound + timedelta(
        hours=24
    )
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="SM-1",
                channel="sms",
                provider="twilio",
                channel_user_id=PHONE,
                phone=PHONE,
            )
        ]
    )
    listing = (await client.get("/v1/threads?channel=sms", headers=ACME)).json()["items"]
    assert listing[0]["reply_window"] == {"open": True, "closes_at": None, "rule": "none"}


async def test_another_tenant_cannot_change_a_thread(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread_id = await a_thread(messages, client)
    answer = await client.patch(
        f"/v1/threads/{thread_id}", json={"status": "resolved"}, headers=GLOBEX
    )
    assert answer.status_code == 404
    assert (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()["status"] == "open"


async def test_a_change_appears_on_the_live_stream(
    settings: Settings, messages: MessagesHandler
) -> None:
    await messages.handle_batch([_written(5, "wamid.live")])
    async with served(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        [thread] = (await http.get("/v1/threads", headers=ACME)).json()["items"]
        async with http.stream("GET", "/v1/events", headers=ACME) as stream:
            events = EventReader(stream)
            answer = await http.patch(
                f"/v1/threads/{thread['id']}",
                json={"assignee": "agent-2", "labels": ["urgent"]},
                headers=ACME,
            )
            assert answer.status_code == 200
            changed = await events.next_event("thread")
    assert changed["data"]["assignee"] == "agent-2"
    assert changed["data"]["labels"] == ["urgent"]


async def test_unread_makes_the_last_customer_message_unread_again(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread_id = await a_thread(messages, client)
    assert (await client.post(f"/v1/threads/{thread_id}/read", headers=ACME)).status_code == 204
    assert (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()["unread_count"] == 0
    answer = await client.post(f"/v1/threads/{thread_id}/unread", headers=ACME)
    assert answer.status_code == 204
    assert (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()["unread_count"] == 1
    other = await client.post(f"/v1/threads/{thread_id}/unread", headers=GLOBEX)
    assert other.status_code == 404


async def test_a_note_is_in_the_timeline_but_never_unread_nor_last(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    thread_id = await a_thread(messages, client)
    before = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    answer = await client.post(
        f"/v1/threads/{thread_id}/notes",
        json={"text": "Called her back, she wants the 10am", "author": "agent-3"},
        headers=ACME,
    )
    assert answer.status_code == 201, answer.text
    note = answer.json()
    assert (note["direction"], note["author"]) == ("note", "agent-3")
    after = (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json()
    for field in ("unread_count", "message_count", "last_message", "last_message_at"):
        assert after[field] == before[field], field
    page = (await client.get(f"/v1/threads/{thread_id}/messages", headers=ACME)).json()
    assert [m["direction"] for m in page["items"]] == ["inbound", "note"]
    gone = await client.delete(f"/v1/threads/{thread_id}/notes/{note['id']}", headers=GLOBEX)
    assert gone.status_code == 404
    gone = await client.delete(f"/v1/threads/{thread_id}/notes/{note['id']}", headers=ACME)
    assert gone.status_code == 204
    again = await client.delete(f"/v1/threads/{thread_id}/notes/{note['id']}", headers=ACME)
    assert again.status_code == 404
    page = (await client.get(f"/v1/threads/{thread_id}/messages", headers=ACME)).json()
    assert [m["direction"] for m in page["items"]] == ["inbound"]


async def test_counts_equal_a_recount(
    messages: MessagesHandler, client: GatewayClient, store: Store
) -> None:
    """Five threads: two open (one assigned), one pending, one resolved, one snoozed whose
    time has passed (open) and one still snoozed."""
    ids = []
    for n in range(6):
        phone = f"+44791100044{n}"
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.c{n}", channel_user_id=phone[1:], phone=phone
                )
            ]
        )
    ids = [t["id"] for t in (await client.get("/v1/threads", headers=ACME)).json()["items"]]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await patch(client, ids[1], assignee="agent-9")
    await patch(client, ids[2], status="pending")
    await patch(client, ids[3], status="resolved")
    await patch(client, ids[4], status="snoozed", snoozed_until=later, assignee="agent-9")
    await patch(client, ids[5], status="snoozed", snoozed_until=later)
    await store.database["threads"].update_one(
        {"_id": ids[4]}, {"$set": {"snoozed_until": datetime.now(UTC) - timedelta(minutes=1)}}
    )
    answer = await client.get("/v1/threads/counts?assignee=agent-9", headers=ACME)
    assert answer.status_code == 200, answer.text
    listed = [
        (await client.get(f"/v1/threads/{thread_id}", headers=ACME)).json() for thread_id in ids
    ]
    statuses = [t["status"] for t in listed]
    assert answer.json() == {
        "status": {s: statuses.count(s) for s in ("open", "pending", "resolved", "snoozed")},
        "unassigned": sum(t["status"] == "open" and t["assignee"] is None for t in listed),
        "assignee": sum(t["status"] == "open" and t["assignee"] == "agent-9" for t in listed),
    }
    assert answer.json()["status"] == {"open": 3, "pending": 1, "resolved": 1, "snoozed": 1}
    globex = (await client.get("/v1/threads/counts", headers=GLOBEX)).json()
    assert globex["status"] == {"open": 0, "pending": 0, "resolved": 0, "snoozed": 0}


async def test_filters_combine_and_page_without_repeats_or_skips_while_messages_arrive(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """Twelve threads, every other one labelled vip and assigned; paging the open vip
    threads of agent-1 two at a time while messages arrive in other threads returns each
    of them exactly once, and the other filters answer what a recount says."""
    ids: list[str] = []
    for n in range(12):
        phone = f"+4479110005{n:02d}"
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.f{n}",
                    channel_user_id=phone[1:],
                    phone=phone,
                    occurred_at=datetime.now(UTC) - timedelta(minutes=60 - n),
                )
            ]
        )
    ids = [
        t["id"] for t in (await client.get("/v1/threads?limit=50", headers=ACME)).json()["items"]
    ]
    wanted = set()
    for n, thread_id in enumerate(ids):
        if n % 2 == 0:
            await patch(client, thread_id, labels=["vip"], assignee="agent-1")
            wanted.add(thread_id)
    await patch(client, ids[0], status="resolved")
    wanted.discard(ids[0])
    seen: list[str] = []
    url = "/v1/threads?status=open&label=vip&assignee=agent-1&limit=2"
    page = (await client.get(url, headers=ACME)).json()
    for n in range(12):
        seen += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        # Messages arrive meanwhile, moving threads to the top.
        phone = f"+4479110005{n:02d}"
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.g{n}", channel_user_id=phone[1:], phone=phone
                )
            ]
        )
        page = (await client.get(f"{url}&cursor={page['next_cursor']}", headers=ACME)).json()
    assert sorted(seen) == sorted(wanted)
    assert len(seen) == len(set(seen))
    unassigned = (await client.get("/v1/threads?assignee=none&limit=50", headers=ACME)).json()
    assert {t["id"] for t in unassigned["items"]} == {t for n, t in enumerate(ids) if n % 2}
    resolved = (await client.get("/v1/threads?status=resolved", headers=ACME)).json()
    assert [t["id"] for t in resolved["items"]] == [ids[0]]
    bad = await client.get("/v1/threads?status=closed", headers=ACME)
    assert bad.status_code == 400


async def test_a_tenant_with_human_agent_has_seven_days_on_messenger_also_live(
    settings: Settings, messages: MessagesHandler
) -> None:
    """Globex may answer Messenger threads for 7 days (human_agent); the list, the thread and
    its live events say so."""
    written = message_event(
        provider_message_id="m_ha1",
        tenant_id="globex",
        channel="messenger",
        channel_user_id="psid-1",
        phone=None,
        occurred_at=datetime.now(UTC) - timedelta(hours=30),
    )
    await messages.handle_batch([written])
    async with served(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        [thread] = (await http.get("/v1/threads", headers=GLOBEX)).json()["items"]
        assert thread["reply_window"]["rule"] == "human_agent_7d"
        assert thread["reply_window"]["open"] is True
        async with http.stream("GET", "/v1/events", headers=GLOBEX) as stream:
            events = EventReader(stream)
            answer = await http.patch(
                f"/v1/threads/{thread['id']}", json={"labels": ["late"]}, headers=GLOBEX
            )
            assert answer.status_code == 200
            assert answer.json()["reply_window"]["rule"] == "human_agent_7d"
            changed = await events.next_event("thread")
    assert changed["data"]["reply_window"]["rule"] == "human_agent_7d"
    assert changed["data"]["reply_window"]["open"] is True
