"""The MongoDB client, built one way for every process."""

from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from contracts import Settings


def mongo_client(
    settings: Settings, *, server_selection: timedelta
) -> AsyncMongoClient[dict[str, Any]]:
    """A client of ``MONGO_URI`` returning timezone-aware times.

    ``server_selection`` bounds how long an operation waits for a usable server: the gateway
    answers 503 quickly when MongoDB is away, a worker waits longer before it backs off.
    """
    return AsyncMongoClient(
        settings.mongo_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=int(server_selection.total_seconds() * 1000),
    )
