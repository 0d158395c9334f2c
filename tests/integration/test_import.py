"""``python -m ingest import``: a history file onto the topics, refused lines named with
their numbers and reasons, and a second run of the same file changing nothing."""

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from contracts import Settings, TenantDirectory, get_settings
from domain.store.database import Store
from ingest.__main__ import main
from ingest.history import import_history
from ingest.webhooks.publisher import KafkaPublisher
from tests.factories import booking_event, message_event
from tests.integration.processes import environment
from tests.waiting import eventually

pytestmark = pytest.mark.integration


def history(path: Path) -> None:
    good = [
        booking_event(booking_id="h-1", name="Ann Lee", grand_total="100.00"),
        booking_event(booking_id="h-2", name="Ann Lee", grand_total="20.00"),
        booking_event(booking_id="h-3", name="Bob Roe", emails=["bob@example.com"]),
    ]
    lines = [event.model_dump_json() for event in good[:2]]
    lines.append("{not json")
    broken = json.loads(good[2].model_dump_json())
    del broken["booking"]["booking_id"]
    lines.append(json.dumps(broken))
    lines.append(booking_event(booking_id="h-9", tenant_id="initech").model_dump_json())
    lines.append("")
    lines.append(good[2].model_dump_json())
    path.write_text("\n".join(lines) + "\n")


async def test_a_history_is_imported_once_however_often_it_runs(
    settings: Settings, store: Store, tenants: TenantDirectory, consumers: None, tmp_path: Path
) -> None:
    path = tmp_path / "bookings.jsonl"
    history(path)
    publisher = KafkaPublisher(settings)
    await publisher.start()
    assert await publisher.wait_connected(30)
    try:
        for _ in range(2):
            shown = io.StringIO()
            summary = await import_history(
                "bookings", path, settings, tenants, publisher, progress=shown
            )
            assert summary.accepted == 3
            refused = dict(summary.refused)
            assert sorted(refused) == [3, 4, 5]
            assert "JSON" in refused[3] or "json" in refused[3]
            assert refused[4].startswith("booking.booking_id")
            assert refused[5] == "unknown tenant 'initech'"
            assert "7/7 lines" in shown.getvalue()

            async def stored() -> list[dict[str, Any]] | None:
                found = await store.database["customers"].find({}).to_list()
                total = sum(doc["analytics"]["total_bookings"] for doc in found)
                return found if len(found) == 2 and total == 3 else None

            customers = await eventually(stored, within=30, what="the imported bookings")
            ann = next(doc for doc in customers if doc["name"] == "Ann Lee")
            [spent] = ann["analytics"]["total_spent"]
            assert (spent["currency"], str(spent["amount"])) == ("GBP", "120.00")
        assert await store.database["bookings"].count_documents({}) == 3
    finally:
        await publisher.close()


async def test_messages_import_and_the_command_line(
    settings: Settings,
    store: Store,
    consumers: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(
        "\n".join(
            message_event(
                provider_message_id=f"wamid.h{n}", text=f"old message {n}"
            ).model_dump_json()
            for n in range(5)
        )
    )
    for name, value in environment(settings).items():
        if name.startswith("THREADLINE_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        # The command runs its own event loop, as it does from a shell.
        assert await asyncio.to_thread(main, ["import", "messages", str(path)]) == 0
        missing = str(tmp_path / "missing.jsonl")
        assert await asyncio.to_thread(main, ["import", "messages", missing]) == 2
    finally:
        get_settings.cache_clear()

    async def stored() -> int | None:
        count = await store.database["messages"].count_documents({})
        return count if count == 5 else None

    await eventually(stored, within=30, what="the imported messages")
