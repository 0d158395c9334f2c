"""Shapes every part of the read API shares."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """A response body: built by this service from stored documents."""

    model_config = ConfigDict(frozen=True)


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


def utc(value: datetime | None) -> datetime | None:
    """Stored times come back aware; documents written by older code may be naive (UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def drop_none(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {key: value for key, value in document.items() if value is not None}
