"""The committed JSON Schema files are what the models generate."""

import json

import pytest

from contracts import SCHEMAS, MessageEvent
from contracts.schemas import SCHEMA_DIR, expected_files


@pytest.mark.parametrize("filename", sorted(expected_files()))
def test_schema_file_is_up_to_date(filename: str) -> None:
    """Fails when a model changed and `make schemas` was not run."""
    committed = SCHEMA_DIR / filename
    assert committed.exists(), f"{filename} missing: run `make schemas`"
    assert committed.read_text(encoding="utf-8") == expected_files()[filename], (
        f"{filename} is stale: run `make schemas`"
    )


def test_every_versioned_record_has_a_schema_file() -> None:
    """One file per schema header value, and no orphan files."""
    on_disk = {path.name for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == set(expected_files())
    assert set(SCHEMAS) == {
        "chat.message/1",
        "chat.status/1",
        "booking.event/1",
        "ingest.deadletter/1",
        "chat.message_edit/1",
        "chat.identity/1",
        "chat.consent/1",
        "chat.media_chunk/1",
        "chat.outbound/1",
    }


def test_message_schema_names_the_spec_fields() -> None:
    """The MessageEvent schema lists every field docs/topics.md gives it."""
    schema = json.loads((SCHEMA_DIR / "chat.message.v1.json").read_text())
    assert set(schema["required"]) >= {
        "event_id",
        "tenant_id",
        "channel",
        "provider",
        "direction",
        "provider_message_id",
        "occurred_at",
        "received_at",
        "participant",
        "business",
        "content",
    }
    assert set(MessageEvent.model_fields) >= {"email", "references"}
