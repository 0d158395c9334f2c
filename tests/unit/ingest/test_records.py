"""Kafka records: topic, key and headers as docs/topics.md gives them."""

import json
from datetime import UTC, datetime

from contracts import Settings, load_tenants
from ingest.webhooks.channels import whatsapp
from ingest.webhooks.channels.base import ParseContext
from ingest.webhooks.records import to_record
from tests.conftest import FIXTURES, provider_fixture


def test_message_record_has_participant_key_and_schema_headers() -> None:
    """A MessageEvent goes to chat.messages.v1 keyed tenant:channel:channel_user_id."""
    tenants = load_tenants(FIXTURES / "tenants.toml")
    context = ParseContext(tenants=tenants, received_at=datetime(2026, 1, 1, tzinfo=UTC))
    [event] = whatsapp.parse(provider_fixture("whatsapp_text_message.json"), {}, context).events
    record = to_record(event, Settings(), "corr-1")
    assert record.topic == "chat.messages.v1"
    assert record.key == f"acme:whatsapp:{event.participant.channel_user_id}".encode()
    headers = dict(record.headers)
    assert headers["schema"] == b"chat.message/1"
    assert headers["event_id"] == str(event.event_id).encode()
    assert headers["correlation_id"] == b"corr-1"
    value = json.loads(record.value)
    assert value["event_id"] == str(event.event_id)
    assert "email" not in value  # absent optional fields are left out, not null


def test_status_record_shares_its_message_key() -> None:
    """A StatusEvent is keyed like the conversation it belongs to, on chat.statuses.v1."""
    tenants = load_tenants(FIXTURES / "tenants.toml")
    context = ParseContext(tenants=tenants, received_at=datetime(2026, 1, 1, tzinfo=UTC))
    [status] = whatsapp.parse(provider_fixture("whatsapp_status_sent.json"), {}, context).events
    record = to_record(status, Settings(topic_statuses="custom.statuses"), None)
    assert record.topic == "custom.statuses"
    assert record.key == f"acme:whatsapp:{status.participant.channel_user_id}".encode()
    assert dict(record.headers)["schema"] == b"chat.status/1"
    assert "correlation_id" not in dict(record.headers)
