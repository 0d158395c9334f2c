"""Whatever a client controls is answered with a 4xx naming the field, never a 500, and
nothing the store cannot hold is accepted."""

import json
from typing import Any

import pytest

from contracts import Settings
from tests.factories import booking_event
from tests.integration.conftest import GatewayClient, TopicReader

pytestmark = pytest.mark.integration

ACME = {"authorization": "Bearer acme-test-key"}


def posted_booking(**changes: Any) -> dict[str, Any]:
    """A booking event as a booking system posts it, with ``changes`` at dotted paths."""
    body: dict[str, Any] = json.loads(booking_event().model_dump_json())
    del body["event_id"], body["tenant_id"]
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        target[name] = value
    return body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_at": "9999-12-31T23:59:59-05:00"}, "occurred_at"),
        ({"booking__created_at": "0001-01-01T00:30:00+01:00"}, "booking.created_at"),
        ({"version": 2**63}, "version"),
        ({"version": True}, "version"),
        ({"version": "3"}, "version"),
        ({"booking__grand_total": "1e7000"}, "booking.grand_total"),
        ({"booking__grand_total": "1" * 50}, "booking.grand_total"),
        ({"booking__grand_total": "-5"}, "booking.grand_total"),
        ({"booking__grand_total": "NaN"}, "booking.grand_total"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 201}, "event_id"),
        ({"event_id": "evt\n4411"}, "event_id"),
        ({"event_id": 4411}, "event_id"),
    ],
)
async def test_a_booking_the_store_cannot_hold_is_422_naming_the_field(
    client: GatewayClient, changes: dict[str, Any], field: str
) -> None:
    """Instants outside the years 1 to 9999 in UTC, versions that are not 64-bit integers,
    amounts Decimal128 cannot hold exactly or that are negative: 422, the field named."""
    response = await client.post(
        "/v1/bookings/events", json=posted_booking(**changes), headers=ACME
    )
    assert response.status_code == 422, response.text
    fields = [item["field"] for item in response.json()["error"]["details"]]
    assert field in fields


async def test_the_largest_storable_booking_is_accepted(
    client: GatewayClient, settings: Settings, topic_reader: TopicReader
) -> None:
    """A control for the test above: the limits themselves are accepted and published."""
    body = posted_booking(
        version=2**63 - 1,
        occurred_at="9999-12-31T23:59:59Z",
        booking__grand_total="9" * 34,
        booking__currency="ZZZ",
    )
    response = await client.post("/v1/bookings/events", json=body, headers=ACME)
    assert response.status_code == 202, response.text
    [record] = await topic_reader.read(settings.topic_bookings, expect=1)
    assert json.loads(record.value)["version"] == 2**63 - 1


async def test_a_deeply_nested_body_is_a_client_error(client: GatewayClient) -> None:
    """A body nested 5,000 deep is refused with 400 or 422, not a 500."""
    body = "[" * 5000 + "]" * 5000
    for path in ("/v1/customers", "/v1/bookings/events"):
        response = await client.post(
            path, content=body, headers={**ACME, "content-type": "application/json"}
        )
        assert response.status_code in (400, 422), (path, response.status_code, response.text)
        assert response.json()["error"]["code"] in ("bad_request", "validation_error")


@pytest.mark.parametrize(
    "event_id",
    ["evt-4411", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "evt_123", "c7f5a3b2-0000-4000-8000-0000000000ab"],
)
async def test_a_booking_systems_own_event_id_is_kept(
    client: GatewayClient, settings: Settings, topic_reader: TopicReader, event_id: str
) -> None:
    """(v1.1) Any id of 1 to 200 printable characters: 202, published as given."""
    response = await client.post(
        "/v1/bookings/events", json=posted_booking(event_id=event_id), headers=ACME
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"event_id": event_id}
    [record] = await topic_reader.read(settings.topic_bookings, expect=1)
    assert json.loads(record.value)["event_id"] == event_id
    assert dict(record.headers)["event_id"] == event_id.encode()
