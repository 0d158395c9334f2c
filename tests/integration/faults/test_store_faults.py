"""The read API while MongoDB is frozen: every route answers 503 within its deadline.

The test starts its own database server, because it freezes it (SIGSTOP): connections stay
open and nothing answers, the hardest case for a client to notice.
"""

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from devstack import EmbeddedMongo

from contracts import Settings
from tests.integration.api.conftest import ACME
from tests.integration.processes import start_gateway

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEADLINE = timedelta(seconds=2)
READS = [
    "/v1/threads",
    "/v1/threads?unread=true",
    "/v1/customers",
    "/v1/customers?q=ann",
    "/v1/threads/0123456789abcdef0123456789abcdef/messages",
    "/v1/customers/0123456789abcdef0123456789abcdef",
]


async def test_a_frozen_database_gets_503_within_the_deadline(
    settings: Settings, tmp_path: Path
) -> None:
    """With the database frozen, each read answers 503 with Retry-After, none waiting past
    ``API_DATABASE_TIMEOUT`` and the 2 s of server selection; once it thaws they answer 200
    (or 404) again."""
    mongo = EmbeddedMongo(log=tmp_path / "mongo.log")
    mongo.start()
    assert mongo.process is not None
    deadline = settings.model_copy(
        update={"mongo_uri": mongo.uri, "api_database_timeout": DEADLINE}
    )
    gateway, url = start_gateway(deadline, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=ACME) as http:
            assert [(await http.get(path)).status_code for path in READS[:4]] == [200] * 4
            os.kill(mongo.process.pid, signal.SIGSTOP)
            try:
                loop = asyncio.get_running_loop()
                for path in READS:
                    started = loop.time()
                    answer = await http.get(path)
                    waited = loop.time() - started
                    assert answer.status_code == 503, (path, answer.text)
                    assert answer.headers["retry-after"] == "5"
                    assert answer.json()["error"]["code"] == "unavailable"
                    # The deadline, or server selection once the client marks the server lost.
                    assert waited < DEADLINE.total_seconds() + 3, (path, waited)
            finally:
                os.kill(mongo.process.pid, signal.SIGCONT)
            answers = [(await http.get(path)).status_code for path in READS]
            assert answers[:4] == [200] * 4
    finally:
        gateway.stop()
        mongo.stop()
