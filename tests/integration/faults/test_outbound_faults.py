"""(v1.1) An outbound worker process SIGKILLed while the provider holds its request: the
restarted worker does not send the reply again; the reply is ``unknown`` until a receipt or
staff settle it."""

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.messages import MessagesHandler
from contracts import Settings, TenantDirectory
from domain.store.database import Store
from tests.factories import message_event
from tests.integration.api.conftest import ACME
from tests.integration.conftest import GatewayClient
from tests.integration.processes import start_consumer
from tests.outbound_servers import GraphSendServer
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture
def graph() -> Iterator[GraphSendServer]:
    with GraphSendServer({"106540352242922": "acme-graph-token"}) as server:
        yield server


async def test_a_worker_killed_while_sending_never_sends_twice(
    settings: Settings,
    store: Store,
    tenants: TenantDirectory,
    client: GatewayClient,
    graph: GraphSendServer,
    tmp_path: Path,
) -> None:
    worker_settings = settings.model_copy(
        update={"graph_api_url": graph.base_url, "send_timeout": timedelta(seconds=20)}
    )
    await MessagesHandler(store, tenants).handle_batch(
        [message_event(occurred_at=datetime.now(UTC) - timedelta(minutes=5))]
    )
    [thread] = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    # The provider takes the request and holds its answer: the worker is mid-send.
    graph.slow_next(15)
    answer = await client.post(
        f"/v1/threads/{thread['id']}/messages", json={"text": "On our way"}, headers=ACME
    )
    assert answer.status_code == 202
    message_id = answer.json()["id"]
    worker = start_consumer(worker_settings, "outbound", tmp_path)
    try:
        await eventually(lambda: graph.sent, within=60, what="the provider to receive the send")
        worker.signal(signal.SIGKILL)
        assert worker.process is not None
        worker.process.wait(10)
        worker = start_consumer(worker_settings, "outbound", tmp_path)

        async def settled() -> str | None:
            found = await store.outbound.get(message_id)
            return found["status"] if found and found["status"] != "pending" else None

        status = await eventually(settled, within=60, what="the reply to be settled")
        assert status == "unknown"
        found = await store.outbound.get(message_id)
        assert found is not None
        assert "interrupted" in str(found["outbound"].get("reason"))
        assert len(graph.sent) == 1
    finally:
        worker.stop()
