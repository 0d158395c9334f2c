"""The gateway process while Kafka fails: every authentic webhook answered 2xx, none lost.

These tests start their own broker, because they stop it; tansu keeps topics in memory, so a
restarted broker is empty and the topics are created again, as an operator would.
"""

import asyncio
import json
import signal
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from devstack import EmbeddedKafka, ManagedProcess, free_port

from contracts import Settings
from ingest.topics import create_topics
from tests.integration.conftest import Record, TopicReader
from tests.integration.processes import metric, start_gateway
from tests.signing import meta_signature, whatsapp_text_payload
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def post_whatsapp(http: httpx.AsyncClient, number: int) -> httpx.Response:
    body = whatsapp_text_payload(wamid_prefix=f"wamid.F{number}")
    return await http.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )


def message_ids(records: list[Record]) -> list[str]:
    return [json.loads(record.value)["provider_message_id"] for record in records]


def sent_ids(numbers: range) -> set[str]:
    return {f"wamid.F{n}.0.0" for n in numbers}


@pytest.fixture
def faulty(settings: Settings) -> Settings:
    """The test's settings with a short publish timeout, so outages are noticed quickly."""
    return settings.model_copy(update={"publish_timeout": timedelta(seconds=1)})


async def test_broker_stopped_while_webhooks_arrive(faulty: Settings, tmp_path: Path) -> None:
    """Webhooks sent while the broker is down are all answered 200 and all reach the topic
    once it is back; the spool empties."""
    kafka = EmbeddedKafka(log=tmp_path / "kafka.log")
    kafka.start()
    settings = faulty.model_copy(update={"kafka_bootstrap": kafka.bootstrap})
    await create_topics(settings)
    gateway, url = start_gateway(settings, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert [(await post_whatsapp(http, n)).status_code for n in range(5)] == [200] * 5

            kafka.stop()
            answers = await asyncio.gather(*(post_whatsapp(http, n) for n in range(5, 45)))
            assert [a.status_code for a in answers] == [200] * 40
            assert await metric(http, "threadline_spool_depth") > 0

            kafka = EmbeddedKafka(kafka.port, log=tmp_path / "kafka.log")
            kafka.start()
            await create_topics(settings)
            # Alone the spool drains in seconds. In some full-suite runs nothing reached the
            # restarted broker at all, even in 150 s: an open fault, not a slow drain.
            records = await TopicReader(kafka.bootstrap).read(
                settings.topic_messages, expect=40, within=150
            )
            assert set(message_ids(records)) == sent_ids(range(5, 45))

            async def drained() -> bool:
                return await metric(http, "threadline_spool_depth") == 0

            await eventually(drained, within=15, what="an empty spool")
    finally:
        gateway.stop()
        kafka.stop()


async def test_gateway_killed_with_a_spooled_backlog_drains_it_on_restart(
    faulty: Settings, tmp_path: Path
) -> None:
    """A gateway SIGKILLed while its spool holds webhooks publishes them after restarting."""
    kafka = EmbeddedKafka(free_port(), log=tmp_path / "kafka.log")  # not started yet
    settings = faulty.model_copy(update={"kafka_bootstrap": kafka.bootstrap})
    gateway, url = start_gateway(settings, tmp_path)
    restarted: ManagedProcess | None = None
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answers = [await post_whatsapp(http, n) for n in range(20)]
            assert [a.status_code for a in answers] == [200] * 20
            assert await metric(http, "threadline_spool_depth") == 20
        gateway.signal(signal.SIGKILL)
        assert gateway.process is not None
        gateway.process.wait(10)

        kafka.start()
        await create_topics(settings)
        restarted, url = start_gateway(settings, tmp_path)
        records = await TopicReader(kafka.bootstrap).read(
            settings.topic_messages, expect=20, within=60
        )
        assert message_ids(records) == [f"wamid.F{n}.0.0" for n in range(20)]  # in order
    finally:
        gateway.stop()
        if restarted is not None:
            restarted.stop()
        kafka.stop()
