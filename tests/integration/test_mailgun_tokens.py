"""Mailgun's one-time tokens: of simultaneous copies of one signed request exactly one is
accepted, on one gateway process or several, and a request answered 503 may come again."""

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from contracts import Settings, load_tenants
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.fakes import MemoryPublisher
from tests.integration.conftest import TopicReader
from tests.integration.processes import start_gateway
from tests.integration.test_gateway_channels import mailgun_form

pytestmark = pytest.mark.integration

PATH = "/webhooks/email/mailgun"


async def test_simultaneous_copies_are_accepted_once_by_one_or_two_processes(
    settings: Settings, topic_reader: TopicReader, tmp_path: Path
) -> None:
    """Ten copies sent at once to one gateway process, then ten of another request split
    between two processes: each time one 200, nine 401, and one message on the topic."""
    gateways = [start_gateway(settings, tmp_path) for _ in range(2)]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for urls in ([gateways[0][1]], [url for _, url in gateways]):
                headers, body = mailgun_form(token=uuid.uuid4().hex, timestamp=int(time.time()))
                answers = await asyncio.gather(
                    *(
                        http.post(urls[n % len(urls)] + PATH, content=body, headers=headers)
                        for n in range(10)
                    )
                )
                assert sorted(a.status_code for a in answers) == [200] + [401] * 9, urls
    finally:
        for gateway, _ in gateways:
            gateway.stop()
    records = await topic_reader.read(settings.topic_messages, expect=2, settle=1.0)
    assert len(records) == 2


async def test_a_request_answered_503_may_come_again_with_its_token(settings: Settings) -> None:
    """Kafka and the spool refuse the first delivery (503); the retry with the same signed
    token is accepted, by this process or another."""
    headers, body = mailgun_form(token=uuid.uuid4().hex, timestamp=int(time.time()))
    tenants = load_tenants(FIXTURES / "tenants.toml")
    unspooled = settings.model_copy(update={"spool_max_bytes": 0})
    down = create_app(unspooled, tenants=tenants, publisher=MemoryPublisher(fail=True))
    async with AsyncTestClient(app=down) as gateway:
        refused = await gateway.post(PATH, content=body, headers=headers)
        failing_again = await gateway.post(PATH, content=body, headers=headers)
    publisher = MemoryPublisher()
    up = create_app(unspooled, tenants=tenants, publisher=publisher)
    async with AsyncTestClient(app=up) as gateway:
        accepted = await gateway.post(PATH, content=body, headers=headers)
        replayed = await gateway.post(PATH, content=body, headers=headers)
    assert (refused.status_code, failing_again.status_code) == (503, 503)
    assert accepted.status_code == 200, accepted.text
    assert replayed.status_code == 401
    assert [record.kind for record in publisher.records] == ["message"]
