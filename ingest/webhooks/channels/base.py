"""What every channel adapter shares: its inputs, its result, and its one error.

Adapters are pure: ``verify`` and ``parse`` take the raw request bytes and its headers (names in
lower case) and do no I/O, so they are tested against recorded provider payloads.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts import (
    ConsentEvent,
    IdentityEvent,
    MediaChunkEvent,
    MessageEditEvent,
    MessageEvent,
    StatusEvent,
    TenantDirectory,
)

Event = MessageEvent | StatusEvent | MessageEditEvent | IdentityEvent | ConsentEvent
Headers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser needs besides the request: who the tenants are and when it arrived."""

    tenants: TenantDirectory
    received_at: datetime


@dataclass(slots=True)
class ParseResult:
    """The events a request carries, and what in it could not be normalised.

    A request with ``problems`` is dead-lettered whole (with the problems as its reason)
    after its good events are published, so a replay after a fix loses nothing.
    """

    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: (v1.1) The bytes of the events' attachments that the request itself holds (email).
    media: list[MediaChunkEvent] = field(default_factory=list)

    def extend(self, other: "ParseResult") -> None:
        self.events.extend(other.events)
        self.problems.extend(other.problems)
        self.media.extend(other.media)


def load_json(raw: bytes | str) -> Any:
    """Parse JSON, refusing an object that repeats a key: a signed body that names two
    tenants' accounts (``phone_number_id`` twice) must not be routed by whichever came last.

    Raises ValueError for invalid or ambiguous JSON, RecursionError for a body nested deeper
    than the parser's stack.
    """
    return json.loads(raw, object_pairs_hook=_unique_keys)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


class ParseError(ValueError):
    """The request is authentic but nothing in it can be normalised (for example bad JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: An adapter's ``parse``: pure, from the request's bytes and headers to its events.
Parser = Callable[[bytes, Headers, ParseContext], ParseResult]
