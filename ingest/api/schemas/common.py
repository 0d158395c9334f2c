"""Shapes every part of the read API shares."""

from collections.abc import Mapping
from datetime import UTC, datetime

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


def drop_none(document: Mapping[str, object] | None) -> dict[str, object] | None:
    if document is None:
        return None
    return {key: value for key, value in document.items() if value is not None}
