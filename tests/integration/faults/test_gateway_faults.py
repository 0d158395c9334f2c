"""The gateway process while Kafka fails: every authentic webhook answered 2xx, none lost.

These tests start their own broker, because they take it away: behind a relay they cut, or
not started until the gateway has spooled a backlog.
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
from tests.relay import relay_to
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


async def test_broker_unreachable_while_webhooks_arrive(faulty: Settings, tmp_path: Path) -> None:
    """Webhooks sent while the broker cannot be reached are all answered 200 and all reach
    the topic once it can be again; the spool empties.

    The outage is a cut relay in front of the broker rather than a stopped broker: the
    embedded broker forgets its topics when stopped, and a gateway reconnecting before they
    are created again would publish into a broker that then drops them.
    """
    relay_port = free_port()
    kafka = EmbeddedKafka(advertised_port=relay_port, log=tmp_path / "kafka.log")
    kafka.start()
    try:
        async with relay_to(kafka.port, relay_port) as relay:
            settings = faulty.model_copy(update={"kafka_bootstrap": relay.address})
            await create_topics(settings)
            gateway, url = start_gateway(settings, tmp_path)
            try:
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    sent = [(await post_whatsapp(http, n)).status_code for n in range(5)]
                    assert sent == [200] * 5

                    await relay.cut()
                    answers = await asyncio.gather(*(post_whatsapp(http, n) for n in range(5, 45)))
                    assert [a.status_code for a in answers] == [200] * 40
                    assert await metric(http, "threadline_spool_depth") > 0

                    await relay.open()
                    records = await TopicReader(relay.address).read(
                        settings.topic_messages, expect=45, within=60
                    )
                    assert set(message_ids(records)) == sent_ids(range(45))  # at least once

                    async def drained() -> bool:
                        return await metric(http, "threadline_spool_depth") == 0

                    await eventually(drained, within=15, what="an empty spool")
            finally:
                gateway.stop()
    finally:
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
