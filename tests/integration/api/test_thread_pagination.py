"""Paging the thread list while messages arrive: nothing skipped, nothing repeated."""

from datetime import UTC, datetime, timedelta

import pytest

from consumers.messages import MessagesHandler
from ingest.api import inbox
from tests.factories import message_event
from tests.integration.api.conftest import ACME
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
THREADS = 24


def phone(index: int) -> str:
    return f"+4479111{index:05d}"


async def say(messages: MessagesHandler, index: int, at: datetime, tag: str) -> None:
    await messages.handle_batch(
        [
            message_event(
                provider_message_id=f"wamid.{index}.{tag}",
                channel_user_id=phone(index)[1:],
                phone=phone(index),
                occurred_at=at,
                text=tag,
            )
        ]
    )


@pytest.mark.parametrize("margin", [0.0, 2.0], ids=["settled", "just-changed"])
async def test_pages_neither_skip_nor_repeat_while_messages_arrive(
    client: GatewayClient,
    messages: MessagesHandler,
    monkeypatch: pytest.MonkeyPatch,
    margin: float,
) -> None:
    """Between pages, threads not yet seen and threads already seen get new messages, and
    new threads start: every thread that existed at the first page is listed exactly once."""
    monkeypatch.setattr(inbox, "CLOCK_MARGIN", timedelta(seconds=margin))
    for index in range(THREADS):
        await say(messages, index, T0 + timedelta(minutes=index), "first")
    seen: list[str] = []
    existing = {
        t["id"] for t in (await client.get("/v1/threads?limit=100", headers=ACME)).json()["items"]
    }
    assert len(existing) == THREADS
    cursor = None
    page_number = 0
    now = datetime.now(UTC)
    while True:
        url = "/v1/threads?limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(url, headers=ACME)).json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        page_number += 1
        # The oldest threads (not yet listed) jump to the top, as does one already listed,
        # and a brand-new participant starts a thread.
        await say(messages, page_number - 1, now + timedelta(seconds=page_number), "bump")
        await say(
            messages, THREADS - 1, now + timedelta(seconds=page_number), f"again{page_number}"
        )
        await say(messages, 100 + page_number, now + timedelta(seconds=page_number), "new")
    assert len(seen) == len(set(seen)), "a thread was listed twice"
    assert set(seen) >= existing, f"skipped: {existing - set(seen)}"
    fresh = (await client.get("/v1/threads?limit=3", headers=ACME)).json()["items"]
    assert phone(100 + page_number) in [t["participant"]["phone"] for t in fresh]


async def test_thread_moving_to_the_top_is_still_listed_later(
    client: GatewayClient,
    messages: MessagesHandler,
) -> None:
    """A thread not yet listed that moves to the top (above every later page by its current
    position) is listed on the later page where it stood, and the first page is not repeated."""
    for index in range(6):
        await say(messages, index, T0 + timedelta(minutes=index), "first")
    first = (await client.get("/v1/threads?limit=3", headers=ACME)).json()
    await say(messages, 0, datetime.now(UTC), "bump")
    listed = (await client.get("/v1/threads?limit=100", headers=ACME)).json()["items"]
    assert listed[0]["participant"]["phone"] == phone(0)
    rest = await client.get(f"/v1/threads?limit=3&cursor={first['next_cursor']}", headers=ACME)
    later = [t["participant"]["phone"] for t in rest.json()["items"]]
    assert later == [phone(2), phone(1), phone(0)]
