"""(v1.1) ``GET /v1/threads?q=``: threads found by the words of their messages or by their
participant's name, email or phone, combined with the other filters and with paging."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.messages import MessagesHandler
from tests.factories import message_event
from tests.integration.api.conftest import ACME, GLOBEX
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(hours=2)


async def listed(client: GatewayClient, query: str, headers: dict[str, str] = ACME) -> list[str]:
    """Every thread id the list gives for ``query``, page by page (two a page)."""
    seen: list[str] = []
    url = f"/v1/threads?limit=2&{query}"
    cursor = ""
    for _ in range(50):
        answer = await client.get(url + cursor, headers=headers)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        seen += [thread["id"] for thread in page["items"]]
        if not page["next_cursor"]:
            return seen
        cursor = f"&cursor={page['next_cursor']}"
    raise AssertionError("the list did not end")


def written(n: int, text: str, *, at: datetime | None = None, **participant: Any) -> Any:
    """Thread ``n``'s participant writes ``text`` (by default ``n`` minutes after T0)."""
    phone = participant.pop("phone", f"+1415555{n:04d}")
    return message_event(
        provider_message_id=f"wamid.q{n}.{text}",
        text=text,
        channel_user_id=phone[1:],
        phone=phone,
        occurred_at=at or T0 + timedelta(minutes=n),
        **participant,
    )


async def thread_of(client: GatewayClient, phone: str) -> str:
    for thread in (await client.get("/v1/threads?limit=200", headers=ACME)).json()["items"]:
        if thread["participant"].get("phone") == phone:
            found: str = thread["id"]
            return found
    raise AssertionError(f"no thread of {phone}")


async def test_words_of_messages_name_email_and_phone_in_any_format(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    await messages.handle_batch(
        [
            written(1, "Is the Kayak tour still on?", display_name="Zoë Müller"),
            written(2, "Quelle réservation pour le kayak ?"),
            written(3, "hello", display_name="Ana Ruiz", email="ana@example.com"),
            written(4, "nothing to see", phone="+14155552671"),
            message_event(
                provider_message_id="wamid.theirs",
                tenant_id="globex",
                text="kayak reservation",
                display_name="Zoe Muller",
                occurred_at=T0,
            ),
        ]
    )
    kayak = [await thread_of(client, "+14155550002"), await thread_of(client, "+14155550001")]
    assert await listed(client, "q=KAYAK") == kayak  # newest activity first
    assert await listed(client, "q=reservation%20kayak") == kayak[:1]
    assert await listed(client, "q=muller%20zoe") == kayak[1:]
    assert await listed(client, "q=ana%40example.com") == [await thread_of(client, "+14155550003")]
    national = await listed(client, "q=%28415%29%20555-2671")
    assert national == [await thread_of(client, "+14155552671")]
    assert await listed(client, "q=kayak", headers=GLOBEX) != []
    assert set(await listed(client, "q=kayak", headers=GLOBEX)).isdisjoint(kayak)
    assert await listed(client, "q=canoe") == []
    bad = await client.get("/v1/threads?q=%21%21", headers=ACME)
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "q"


async def test_combined_with_filters_and_paged_while_messages_arrive(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    """Nine threads mention surfing, every third one is labelled; paging the surfing ones
    (and the labelled surfing ones) two at a time while new messages move them to the top
    lists each exactly once; a thread that first mentions surfing later is not on a page
    read before."""
    await messages.handle_batch([written(n, f"surf lesson {n}") for n in range(9)])
    await messages.handle_batch([written(n, "kite") for n in range(9, 12)])
    surfing = [await thread_of(client, f"+1415555{n:04d}") for n in range(9)]
    for n, thread in enumerate(surfing):
        if n % 3 == 0:
            answer = await client.patch(
                f"/v1/threads/{thread}", json={"labels": ["vip"]}, headers=ACME
            )
            assert answer.status_code == 200

    for query, wanted in (("q=surf", surfing), ("q=surf&label=vip", surfing[::3])):
        seen: list[str] = []
        page = (await client.get(f"/v1/threads?limit=2&{query}", headers=ACME)).json()
        n = 0
        while True:
            seen += [thread["id"] for thread in page["items"]]
            if not page["next_cursor"]:
                break
            # The oldest surfing thread, not listed yet, writes again (moving to the top),
            # and a kite thread mentions surfing for the first time.
            now = datetime.now(UTC)
            await messages.handle_batch(
                [written(n, f"surf again {n}", at=now), written(9 + n % 3, f"surf now {n}", at=now)]
            )
            n += 1
            cursor = page["next_cursor"]
            page = (
                await client.get(f"/v1/threads?limit=2&{query}&cursor={cursor}", headers=ACME)
            ).json()
        assert len(seen) == len(set(seen)), query
        assert set(wanted) <= set(seen), query

    assert set(await listed(client, "q=kite&channel=whatsapp")) == {
        await thread_of(client, f"+1415555{n:04d}") for n in range(9, 12)
    }
    assert await listed(client, "q=kite&channel=email") == []
