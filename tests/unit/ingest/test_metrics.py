"""Every answer of the gateway's routes is counted by part of the gateway and status class (the
5xx alert's series). A path no route serves is answered before any middleware runs."""

from litestar import Litestar, get
from litestar.exceptions import InternalServerException, NotFoundException
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from ingest.metrics import ResponseCounter


@get("/v1/ok")
async def fine() -> str:
    return "ok"


@get("/webhooks/broken")
async def broken() -> str:
    raise InternalServerException()


@get("/app/gone")
async def gone() -> str:
    raise NotFoundException()


def _count(part: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "threadline_http_responses_total", {"part": part, "status": status}
    )
    return value or 0.0


def test_answers_are_counted_by_part_and_status_class() -> None:
    """A 200 of the API, a 500 of a webhook and a 404 of the web app each move their own count."""
    before = {key: _count(*key) for key in (("api", "2xx"), ("webhooks", "5xx"), ("app", "4xx"))}
    app = Litestar([fine, broken, gone], middleware=[ResponseCounter])
    with TestClient(app) as client:
        assert client.get("/v1/ok").status_code == 200
        assert client.get("/webhooks/broken").status_code == 500
        assert client.get("/app/gone").status_code == 404
    after = {key: _count(*key) for key in before}
    assert {key: after[key] - before[key] for key in before} == dict.fromkeys(before, 1.0)
