"""Opaque page cursors: what a page ended on, readable only by this service."""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from ingest.errors import BadRequest


def encode(fields: dict[str, Any]) -> str:
    raw = json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, *, times: tuple[str, ...], texts: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a cursor made by :func:`encode`; 400 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        fields = json.loads(base64.urlsafe_b64decode(padded.encode()))
        decoded: dict[str, Any] = {name: datetime.fromisoformat(fields[name]) for name in times}
        for name in texts:
            if not isinstance(fields[name], str):
                raise TypeError(name)
            decoded[name] = fields[name]
    except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError) as error:
        raise BadRequest("invalid cursor", details=[{"field": "cursor"}]) from error
    for name in times:
        if decoded[name].tzinfo is None:
            raise BadRequest("invalid cursor", details=[{"field": "cursor"}])
    return decoded
