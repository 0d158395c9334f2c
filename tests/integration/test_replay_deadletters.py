"""Replaying dead letters against the real broker: after a fix, what now parses is published."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from consumers.deadletters import replay_consumer_deadletters
from contracts import Settings, TenantDirectory, load_tenants
from ingest.webhooks.deadletters import replay_ingest_deadletters
from ingest.webhooks.publisher import KafkaPublisher
from ingest.webhooks.records import to_record
from tests.conftest import FIXTURES
from tests.factories import message_event
from tests.integration.conftest import GatewayClient, TopicReader
from tests.integration.processes import environment
from tests.signing import meta_signature, whatsapp_text_payload

pytestmark = pytest.mark.integration

NEW_NUMBER = "999000999"


def tenants_with_new_number(tmp_path: Path) -> TenantDirectory:
    """The test tenants file after the operator added a WhatsApp number to acme."""
    text = (FIXTURES / "tenants.toml").read_text()
    fixed = text.replace('["106540352242922"]', f'["106540352242922", "{NEW_NUMBER}"]', 1)
    assert fixed != text
    path = tmp_path / "tenants.toml"
    path.write_text(fixed)
    return load_tenants(path)


async def post_for_unknown_number(client: GatewayClient) -> None:
    body = whatsapp_text_payload(phone_number_id=NEW_NUMBER, wamid_prefix="wamid.REPLAY")
    response = await client.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert response.status_code == 200


async def test_replay_publishes_what_now_parses_after_a_tenants_fix(
    client: GatewayClient,
    settings: Settings,
    tenants: TenantDirectory,
    topic_reader: TopicReader,
    tmp_path: Path,
) -> None:
    """A message for an unconfigured number is dead-lettered; replayed with the old tenants
    it still fails and nothing is published; with the number added it becomes acme's."""
    await post_for_unknown_number(client)
    [letter] = await topic_reader.read(settings.topic_ingest_deadletter, expect=1)
    reason = json.loads(letter.value)["reason"]
    assert NEW_NUMBER in reason

    publisher = KafkaPublisher(settings)
    await publisher.start()
    try:
        assert await publisher.wait_connected(10)
        unchanged = await replay_ingest_deadletters(settings, tenants, publisher)
        assert (unchanged.matched, unchanged.replayed, unchanged.still_failing.total()) == (1, 0, 1)
        later = await replay_ingest_deadletters(
            settings,
            tenants_with_new_number(tmp_path),
            publisher,
            since=datetime.now(UTC) + timedelta(hours=1),
        )
        assert later.matched == 0
        fixed = await replay_ingest_deadletters(
            settings, tenants_with_new_number(tmp_path), publisher, reason=NEW_NUMBER.upper()
        )
        assert (fixed.matched, fixed.replayed, fixed.events) == (1, 1, 1)
    finally:
        await publisher.close()

    [record] = await topic_reader.read(settings.topic_messages, expect=1)
    event = json.loads(record.value)
    assert (event["tenant_id"], event["provider_message_id"]) == ("acme", "wamid.REPLAY.0.0")
    assert event["received_at"] == json.loads(letter.value)["received_at"]


async def test_consumer_dead_letters_go_back_to_their_topic_without_dlq_headers(
    settings: Settings, consumers: None, topic_reader: TopicReader
) -> None:
    """A message for an unknown tenant is dead-lettered by the worker; the replay puts the
    original record back on the messages topic with its own headers only."""
    event = message_event(tenant_id="initech", provider_message_id="wamid.DLQ")
    record = to_record(event, settings, "corr-dlq")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            record.topic, record.value, key=record.key, headers=record.headers
        )
    finally:
        await producer.stop()
    [dead] = await topic_reader.read(settings.topic_consumers_deadletter, expect=1)
    assert dict(dead.headers)["dlq_source_topic"] == settings.topic_messages.encode()

    skipped = await replay_consumer_deadletters(settings, reason="no such reason")
    assert (skipped.read, skipped.matched, skipped.published) == (1, 0, 0)
    summary = await replay_consumer_deadletters(settings, reason="unknown tenant")
    assert (summary.matched, summary.published) == (1, 1)

    original, replayed = await topic_reader.read(settings.topic_messages, expect=2)
    assert replayed.key == original.key
    assert replayed.value == original.value
    assert replayed.headers == original.headers


def test_replay_commands_run_against_the_configured_broker(settings: Settings) -> None:
    """Both commands start, read their topic and print a summary (dry run)."""
    env = environment(settings)
    for module in ("ingest", "consumers"):
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, "replay-deadletter", "--dry-run", "--since", "PT1H"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("read 0, matched 0"), done.stdout
