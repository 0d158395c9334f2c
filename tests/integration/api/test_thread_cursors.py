"""Thread-list cursors are signed and expire: a client continues only a listing this service
started, lately."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from consumers.messages import MessagesHandler
from contracts import Settings, TenantDirectory
from ingest.app import create_app
from tests.factories import message_event
from tests.integration.api.conftest import ACME
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def hand_made(**fields: str) -> str:
    """A cursor as a client could forge it: the fields, encoded as the service encodes them."""
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
async def three_threads(messages: MessagesHandler) -> None:
    for index in range(3):
        phone = f"+44791110{index:04d}"
        await messages.handle_batch(
            [
                message_event(
                    provider_message_id=f"wamid.cursor.{index}",
                    channel_user_id=phone[1:],
                    phone=phone,
                    occurred_at=T0 + timedelta(minutes=index),
                )
            ]
        )


@pytest.fixture
async def expiring_client(
    settings: Settings, tenants: TenantDirectory
) -> AsyncIterator[GatewayClient]:
    """The gateway with cursors that expire at once."""
    app = create_app(settings.model_copy(update={"cursor_max_age": timedelta(0)}), tenants=tenants)
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.mark.usefixtures("three_threads")
async def test_a_cursor_the_service_made_continues_the_listing(client: GatewayClient) -> None:
    """A control for the refusals below: the service's own cursor gives the next page."""
    first = (await client.get("/v1/threads?limit=2", headers=ACME)).json()
    rest = await client.get(f"/v1/threads?limit=2&cursor={first['next_cursor']}", headers=ACME)
    assert rest.status_code == 200, rest.text
    assert len(rest.json()["items"]) == 1


@pytest.mark.usefixtures("three_threads")
@pytest.mark.parametrize(
    "snapshot", ["2026-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00"], ids=["old", "year-1"]
)
async def test_a_hand_made_cursor_is_400(client: GatewayClient, snapshot: str) -> None:
    """A cursor the service did not sign, with an old snapshot (an expensive page) or one of
    year 1 (which broke the arithmetic), is a 400 naming the cursor."""
    forged = hand_made(snapshot=snapshot, at="2026-05-01T12:01:00+00:00", thread="t")
    response = await client.get(f"/v1/threads?limit=2&cursor={forged}", headers=ACME)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == [{"field": "cursor"}]


@pytest.mark.usefixtures("three_threads")
async def test_an_expired_cursor_is_400(expiring_client: GatewayClient) -> None:
    """A cursor older than ``CURSOR_MAX_AGE`` asks the client to read the first page again."""
    first = (await expiring_client.get("/v1/threads?limit=2", headers=ACME)).json()
    url = f"/v1/threads?limit=2&cursor={first['next_cursor']}"
    response = await expiring_client.get(url, headers=ACME)
    assert response.status_code == 400, response.text
    assert "expired" in response.json()["error"]["message"]
