"""Read API fixtures: the app over this test's own database, and data put there by the real
consumers' handlers (so the API reads exactly what the workers write)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from devstack import free_port

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Settings, TenantDirectory, load_tenants
from domain.store.database import Store
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.waiting import eventually

ACME = {"Authorization": "Bearer acme-test-key"}
GLOBEX = {"Authorization": "Bearer globex-test-key"}


@pytest.fixture
def messages(store: Store, tenants: TenantDirectory) -> MessagesHandler:
    return MessagesHandler(store, tenants)


@pytest.fixture
def bookings(store: Store, tenants: TenantDirectory) -> BookingsHandler:
    return BookingsHandler(store, tenants)


def error_code(body: dict[str, Any]) -> str:
    code: str = body["error"]["code"]
    return code


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The gateway served by uvicorn on a free port, in this process (streams need a real
    server); its base URL."""
    app = create_app(settings, tenants=load_tenants(FIXTURES / "tenants.toml"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    # uvicorn offers no event to wait on
    await eventually(lambda: server.started, within=10, every=0.02, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)
