"""The error body every ``/v1`` answer other than a success carries, for the OpenAPI document."""

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """``{"error": {"code", "message", "details"?}}``."""

    error: ErrorDetail


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description)


_ALL = {
    400: _spec("bad query parameter, cursor or malformed body"),
    401: _spec("missing or unknown API key"),
    404: _spec("no such item for this tenant (a merged customer: details.merged_into)"),
    409: _spec(
        "conflicts with another customer, a group's thread, or changed concurrently; "
        "(v1.1) for a reply: template_required (the reply window is closed) or opted_out"
    ),
    413: _spec("body larger than the route takes"),
    422: _spec("body breaks the schema, or (v1.1) a reply its channel cannot carry"),
    429: _spec("too many live streams open for this tenant on this server"),
    502: _spec("(v1.1) the provider's API refused the request or did not answer"),
    503: _spec("the store is unreachable"),
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented error answers of one operation (400, 401 and 503 always apply)."""
    return {status: _ALL[status] for status in sorted({400, 401, 503, *statuses})}
