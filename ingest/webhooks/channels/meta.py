"""What Meta's three channels share: the signature, the subscription handshake, the JSON body,
timestamps, and defensive navigation of payloads whose optional fields come and go.
"""

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contracts import Content
from ingest.webhooks.channels.base import Event, Headers, ParseError, ParseResult, load_json

SIGNATURE_HEADER = "x-hub-signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")

#: Below this an epoch value cannot be milliseconds of any date Meta sends (it would be
#: before March 1973), so it is read as seconds; as seconds it reaches the year 5138.
_SECONDS_BELOW = 10**11


def verify(raw: bytes, headers: Headers, app_secret: str) -> bool:
    """Whether ``x-hub-signature-256`` is the HMAC-SHA256 of ``raw`` under ``app_secret``.

    The legacy SHA-1 ``x-hub-signature`` is never accepted: it is the weaker of the two and
    Meta sends both, so accepting it would only widen what a forger can try.
    """
    header = headers.get(SIGNATURE_HEADER)
    if not app_secret or header is None:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def verify_subscription(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta's subscription handshake is valid, else None."""
    challenge = query.get("hub.challenge")
    presented = query.get("hub.verify_token")
    if query.get("hub.mode") != "subscribe" or not challenge or presented is None:
        return None
    # Compared as bytes: compare_digest refuses non-ASCII str, and a token is caller input.
    if not verify_token or not hmac.compare_digest(presented.encode(), verify_token.encode()):
        return None
    return challenge


def load_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; ParseError when it is not valid JSON or not an object."""
    try:
        body = load_json(raw)
    except (ValueError, RecursionError) as error:
        # ValueError covers bad JSON, bad UTF-8 and integers too long to convert;
        # RecursionError a body nested deeper than the parser's stack.
        raise ParseError(f"body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ParseError(f"body is a JSON {type(body).__name__}, not an object")
    return body


def entries(body: Mapping[str, Any], expected_object: str) -> list[Any]:
    """The ``entry`` list of a webhook body meant for ``expected_object``; ParseError otherwise."""
    sent_object = body.get("object")
    if sent_object is not None and sent_object != expected_object:
        raise ParseError(f"object is {sent_object!r}, expected {expected_object!r}")
    found = body.get("entry")
    if not isinstance(found, list):
        raise ParseError("body has no entry list")
    return found


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one, so lookups never raise."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_id(value: Any) -> str | None:
    """An identifier as a string: Meta sends ids as strings, but older payloads as numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and number > 0 else None


def _from_seconds(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_unix_seconds(value: Any) -> datetime | None:
    """A WhatsApp timestamp (a string of Unix seconds; numbers accepted) in UTC, or None."""
    seconds = _number(value)
    return None if seconds is None else _from_seconds(seconds)


def to_epoch_millis(value: Any) -> int | None:
    """A Messenger/Instagram timestamp as epoch milliseconds, or None when it is not one.

    Numbers and numeric strings are accepted; a value too small to be milliseconds is read
    as seconds, because Meta's own examples sometimes send seconds.
    """
    number = _number(value)
    if number is None:
        return None
    millis = int(number * 1000) if number < _SECONDS_BELOW else int(number)
    return millis if _from_seconds(millis / 1000) is not None else None


def millis_to_datetime(millis: int) -> datetime:
    """Epoch milliseconds (as checked by ``to_epoch_millis``) as a UTC datetime."""
    return datetime.fromtimestamp(millis / 1000, UTC)


def from_epoch_millis(value: Any) -> datetime | None:
    """A Messenger/Instagram timestamp in UTC, or None; see ``to_epoch_millis``."""
    millis = to_epoch_millis(value)
    return None if millis is None else millis_to_datetime(millis)


def reference_texts(content: Content) -> list[str | None]:
    """The texts a person wrote in a message, where a booking reference may appear."""
    return [content.text, *(attachment.caption for attachment in content.attachments)]


def describe(error: ValidationError) -> str:
    """A one-line account of why a model refused its fields, for a dead-letter reason."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
        for item in error.errors()
    )


class ItemError(Exception):
    """One item of a request cannot be normalised; its reason joins ``ParseResult.problems``."""


def collect(result: ParseResult, label: str, build: Callable[[], Iterable[Event]]) -> None:
    """Add the events ``build`` makes to ``result``, or, when it cannot, the reason why.

    Each message or receipt is built on its own, so one bad item costs only itself.
    """
    try:
        result.events.extend(build())
    except ItemError as problem:
        result.problems.append(f"{label}: {problem}")
    except ValidationError as error:
        result.problems.append(f"{label}: {describe(error)}")
