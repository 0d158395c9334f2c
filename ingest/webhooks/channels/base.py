"""What every channel adapter shares: its inputs, its result, and its one error.

Adapters are pure: ``verify`` and ``parse`` take the raw request bytes and its headers (names in
lower case) and do no I/O, so they are tested against recorded provider payloads.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from contracts import MessageEvent, StatusEvent, TenantDirectory

Event = MessageEvent | StatusEvent
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

    def extend(self, other: "ParseResult") -> None:
        self.events.extend(other.events)
        self.problems.extend(other.problems)


class ParseError(ValueError):
    """The request is authentic but nothing in it can be normalised (for example bad JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: An adapter's ``parse``: pure, from the request's bytes and headers to its events.
Parser = Callable[[bytes, Headers, ParseContext], ParseResult]
