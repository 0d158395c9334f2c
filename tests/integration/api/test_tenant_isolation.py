"""Every ``/v1`` route, called with another tenant's key and this tenant's ids: 404, and
nothing of this tenant in any list."""

import io
import json
from typing import Any

import openpyxl
import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Settings
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.factories import booking_event, message_event
from tests.integration.api.conftest import ACME, GLOBEX
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration


async def acme_ids(client: GatewayClient) -> dict[str, str]:
    thread = (await client.get("/v1/threads", headers=ACME)).json()["items"][0]
    customers = (await client.get("/v1/customers?sort=name", headers=ACME)).json()["items"]
    page = (await client.get(f"/v1/threads/{thread['id']}/messages", headers=ACME)).json()
    return {
        "thread_id": thread["id"],
        "customer_id": customers[0]["id"],
        "other_id": customers[1]["id"],
        "message_id": page["items"][0]["id"],
        "note_id": page["items"][0]["id"],
        "index": "0",
    }


def v1_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /v1 except the event stream and the
    booking-event intake (covered by their own tests)."""
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",
        mongo_uri="mongodb://127.0.0.1:9",
        tenants_file=FIXTURES / "tenants.toml",
        public_base_url="https://gateway.example.com",
        spool_max_bytes=0,
    )
    routes = []
    for route in create_app(settings).routes:
        if not route.path.startswith("/v1/") or route.path in {"/v1/events", "/v1/bookings/events"}:
            continue
        path = route.path.replace(":str}", "}").replace(":int}", "}")
        for method in sorted(getattr(route, "methods", [])):
            if method not in ("HEAD", "OPTIONS"):
                routes.append((method, path))
    return routes


async def test_every_route_hides_other_tenants_data(
    client: GatewayClient, bookings: BookingsHandler, messages: MessagesHandler
) -> None:
    """With globex's key, acme's thread, message and customer ids answer 404 on every route
    that takes an id, lists show none of acme's data, and acme's data is unchanged."""
    await bookings.handle(booking_event(booking_id="b-1", name="Ann", phone="+447911100001"))
    await bookings.handle(booking_event(booking_id="b-2", name="Bob", emails=["bob@example.com"]))
    await messages.handle_batch(
        [message_event(channel_user_id="447911100001", phone="+447911100001")]
    )
    ids = await acme_ids(client)
    before = (await client.get(f"/v1/customers/{ids['customer_id']}", headers=ACME)).json()
    bodies: dict[str, Any] = {
        "/v1/customers/{customer_id}/merge": {"other_id": ids["other_id"]},
        "/v1/customers/{customer_id}": {"name": "Mallory"},
        "/v1/customers": {"name": "Globex person"},
        "/v1/threads/{thread_id}": {"status": "resolved", "assignee": "mallory"},
        "/v1/threads/{thread_id}/notes": {"text": "mallory was here"},
        "/v1/threads/{thread_id}/customer": {"customer_id": ids["other_id"]},
        "/v1/threads/{thread_id}/messages": {"text": "mallory was here"},
    }
    routes = v1_routes()
    assert len(routes) >= 12, routes
    queries = {"/v1/messages/search": "?q=hello"}
    for method, path in routes:
        url = path.format(**ids) + queries.get(path, "")
        if path == "/v1/uploads":
            # Globex's own upload; acme cannot attach it (below).
            uploaded = await client.post(
                url, files={"data": ("m.txt", b"mallory", "text/plain")}, headers=GLOBEX
            )
            assert uploaded.status_code == 201, uploaded.text
            ids["upload_id"] = uploaded.json()["upload_id"]
            continue
        body = bodies.get(path)
        response = await client.request(
            method,
            url,
            headers=GLOBEX,
            content=json.dumps(body) if body and method != "GET" else None,
        )
        if "{" in path:
            assert response.status_code == 404, (method, url, response.text)
            assert response.json()["error"]["code"] == "not_found"
        elif path.endswith(".xlsx"):
            assert response.status_code == 200, (method, url)
            book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
            names = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
            assert set(names) <= {"Globex person"}, names  # the one globex made above, if any
        elif path == "/v1/whatsapp/templates":
            # Globex has no WhatsApp Business Account of its own; acme's is never asked.
            assert response.status_code == 404, (method, url, response.text)
        elif path == "/v1/threads/counts":
            assert response.status_code == 200, (method, url)
            assert set(response.json()["status"].values()) == {0}, response.text
        elif method == "GET":
            assert response.status_code == 200, (method, url)
            assert response.json()["items"] == [], (method, url)
        else:
            assert response.status_code == 201, (method, url, response.text)
    attached = await client.post(
        f"/v1/threads/{ids['thread_id']}/messages",
        json={"attachments": [{"upload_id": ids["upload_id"]}]},
        headers=ACME,
    )
    assert attached.status_code == 422, attached.text
    messages_page = f"/v1/threads/{ids['thread_id']}/messages?after={ids['message_id']}"
    assert (await client.get(messages_page, headers=GLOBEX)).status_code == 404
    after = (await client.get(f"/v1/customers/{ids['customer_id']}", headers=ACME)).json()
    assert after == before
    acme_threads = (await client.get("/v1/threads", headers=ACME)).json()["items"]
    assert acme_threads[0]["unread_count"] == 1
    assert (acme_threads[0]["status"], acme_threads[0]["assignee"]) == ("open", None)
    assert acme_threads[0]["customer"]["id"] != ids["other_id"]
    assert (await client.get(f"/v1/customers/{ids['other_id']}", headers=ACME)).status_code == 200
