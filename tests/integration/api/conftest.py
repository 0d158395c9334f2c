"""Read API fixtures: the app over this test's own database, and data put there by the real
consumers' handlers (so the API reads exactly what the workers write)."""

from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import TenantDirectory
from domain.store.database import Store

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
