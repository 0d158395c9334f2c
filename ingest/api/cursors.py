"""Opaque page cursors: what a page ended on, signed, so a client can only continue a listing
this service started.

A cursor is its fields as JSON, base64url, a dot, and an HMAC-SHA256 of that text under the
gateway's cursor key (``THREADLINE_CURSOR_SECRET``, or one derived from the tenants file's
server-side secrets, so every replica reading the same file agrees).
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import structlog

from contracts import Settings, TenantDirectory
from domain.links import derived_key
from ingest.errors import BadRequest

log = structlog.get_logger(__name__)

_MAC_BYTES = 16


class Cursors:
    """Makes and reads the cursors of one gateway."""

    def __init__(self, key: bytes, *, max_age: timedelta = timedelta(hours=1)) -> None:
        self._key = key
        #: How long a listing may be continued; a page's cost grows with what changed since
        #: its first page was read.
        self.max_age = max_age

    def encode(self, fields: dict[str, Any]) -> str:
        raw = json.dumps(
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()},
            separators=(",", ":"),
        )
        payload = _b64(raw.encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def decode(
        self, cursor: str, *, times: tuple[str, ...], texts: tuple[str, ...]
    ) -> dict[str, Any]:
        """The fields of a cursor this gateway made; 400 for anything else."""
        payload, _, mac = cursor.partition(".")
        try:
            genuine = hmac.compare_digest(_unb64(mac), self._mac(payload))
        except (binascii.Error, ValueError):
            genuine = False
        if not genuine:
            raise _invalid()
        try:
            fields = json.loads(_unb64(payload))
            decoded: dict[str, Any] = {name: datetime.fromisoformat(fields[name]) for name in times}
            for name in texts:
                if not isinstance(fields[name], str):
                    raise TypeError(name)
                decoded[name] = fields[name]
        except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError) as error:
            raise _invalid() from error
        if any(decoded[name].tzinfo is None for name in times):
            raise _invalid()
        return decoded

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def cursor_key(settings: Settings, tenants: TenantDirectory) -> bytes:
    """The key cursors are signed with: derived from the configured secret or the tenants
    file's server-side secrets (``domain.links.derived_key``), else a random key of this
    process alone."""
    key = derived_key(settings, tenants, "cursor")
    if key is not None:
        return key
    log.warning(
        "cursor_key_random",
        hint="set THREADLINE_CURSOR_SECRET so every gateway replica accepts the others' cursors",
    )
    return secrets.token_bytes(32)


def _invalid() -> BadRequest:
    return BadRequest("invalid cursor", details=[{"field": "cursor"}])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())
