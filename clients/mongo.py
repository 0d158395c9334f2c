"""The MongoDB client, built one way for every process."""

from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError

from contracts import Settings


class MongoConfigurationError(Exception):
    """``MONGO_URI`` cannot work (credentials refused, a certificate that does not verify):
    waiting will not help. The message names the setting, never the password."""


#: MongoDB's codes for a login refused and for a user without the rights asked for.
_REFUSED = {18: "refused the credentials", 13: "refused the user the rights Threadline needs"}


def misconfiguration(error: PyMongoError) -> str | None:
    """Why ``MONGO_URI`` cannot work, from an error it gave; None for an outage (a server that
    cannot be reached now), which is waited out."""
    if isinstance(error, OperationFailure) and error.code in _REFUSED:
        return f"THREADLINE_MONGO_URI: MongoDB {_REFUSED[error.code]}"
    if "CERTIFICATE_VERIFY_FAILED" in str(error):
        return (
            "THREADLINE_MONGO_URI: the MongoDB server's certificate does not verify against "
            "its tlsCAFile (or the system CAs)"
        )
    return None


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
