"""The correlation id is taken from X-Request-ID or made, logged, and echoed."""

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar import Litestar, get
from litestar.testing import TestClient
from structlog.testing import capture_logs

from ingest.correlation import CorrelationIdMiddleware, current_correlation_id

log = structlog.get_logger()


@get("/")
async def handler() -> dict[str, Any]:
    log.info("inside")
    return {"correlation_id": current_correlation_id()}


@pytest.fixture(autouse=True)
def default_logging() -> Iterator[None]:
    """Other tests configure a level filter; capture every level here."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def make_app() -> Litestar:
    return Litestar([handler], middleware=[CorrelationIdMiddleware])


def test_caller_request_id_is_kept_logged_and_echoed() -> None:
    """A well-formed X-Request-ID becomes the correlation id of the request's logs."""
    with (
        TestClient(make_app()) as client,
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        response = client.get("/", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json() == {"correlation_id": "abc-123"}
    assert {"event": "inside", "correlation_id": "abc-123"}.items() <= logs[-1].items()


def test_missing_or_malformed_request_id_gets_a_fresh_one() -> None:
    """No header, or one with odd characters, gets a generated id instead."""
    with TestClient(make_app()) as client:
        first = client.get("/").headers["x-request-id"]
        odd = client.get("/", headers={"x-request-id": "a b\tc"}).headers["x-request-id"]
    assert len(first) == 32
    assert odd != "a b\tc"
    assert len(odd) == 32
