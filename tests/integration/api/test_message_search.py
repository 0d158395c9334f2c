"""(v1.1) ``GET /v1/messages/search``: words in any order, accents and case ignored, newest
first, in cursor pages, filtered, and only the tenant's own."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.messages import MessagesHandler
from tests.factories import edit_event, message_event
from tests.integration.api.conftest import ACME, GLOBEX
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


async def search(
    client: GatewayClient, query: str, headers: dict[str, str] = ACME
) -> dict[str, Any]:
    answer = await client.get(f"/v1/messages/search?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_words_in_any_order_accents_and_case_ignored(
    messages: MessagesHandler, client: GatewayClient
) -> None:
    await messages.handle_batch(
        [
            message_event(
                provider_message_id="wamid.s1", text="Réservation du kayak à 9h", occurred_at=T0
            ),
            message_event(
                provider_message_id="wamid.s2",
                text="kayak only",
                occurred_at=T0 + timedelta(minutes=1),
            ),
            message_event(
                provider_message_id="wamid.s3",
                text="Une RESERVATION pour le Kayak, svp",
                occurred_at=T0 + timedelta(minutes=2),
            ),
            message_event(
                provider_message_id="wamid.other",
                tenant_id="globex",
                text="reservation kayak",
                occurred_at=T0,
            ),
        ]
    )
    found = await search(client, "q=KAYAK%20reservation")
    assert [m["provider_message_id"] for m in found["items"]] == ["wamid.s3", "wamid.s1"]
    assert all(m["thread_id"] for m in found["items"])
    theirs = await search(client, "q=kayak", headers=GLOBEX)
    assert [m["provider_message_id"] for m in theirs["items"]] == ["wamid.other"]


async def test_pages_filters_and_edits(messages: MessagesHandler, client: GatewayClient) -> None:
    """Five matches paged two at a time, each once; since and channel narrow them; an edited
    message is found by its new words only, an unsent one by none."""
    await messages.handle_batch(
        [
            message_event(
                provider_message_id=f"wamid.p{n}",
                text=f"surf lesson {n}",
                occurred_at=T0 + timedelta(minutes=n),
            )
            for n in range(5)
        ]
    )
    seen: list[str] = []
    page = await search(client, "q=surf+lesson&limit=2")
    while True:
        seen += [m["provider_message_id"] for m in page["items"]]
        if not page["next_cursor"]:
            break
        page = await search(client, f"q=surf+lesson&limit=2&cursor={page['next_cursor']}")
    assert seen == [f"wamid.p{n}" for n in (4, 3, 2, 1, 0)]
    since = (T0 + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    recent = await search(client, f"q=surf&since={since}")
    assert [m["provider_message_id"] for m in recent["items"]] == ["wamid.p4", "wamid.p3"]
    assert (await search(client, "q=surf&channel=sms"))["items"] == []
    await messages.handle_batch([edit_event(target="wamid.p0", text="yoga class")])
    await messages.handle_batch(
        [edit_event(target="wamid.p1", provider_message_id="wamid.rv", text=None)]
    )
    assert [m["provider_message_id"] for m in (await search(client, "q=yoga"))["items"]] == [
        "wamid.p0"
    ]
    left = [m["provider_message_id"] for m in (await search(client, "q=surf"))["items"]]
    assert left == ["wamid.p4", "wamid.p3", "wamid.p2"]


async def test_a_query_without_words_is_400(client: GatewayClient) -> None:
    answer = await client.get("/v1/messages/search?q=%20!!", headers=ACME)
    assert answer.status_code == 400
