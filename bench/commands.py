"""Database commands per event: the bookings and messages handlers over a fresh embedded
database, every command they send counted by a PyMongo command listener.

A count, not a time: it is the same on every run and every machine, so a change that adds a
round trip per event shows here even when the timings are lost in noise.
"""

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from devstack import EmbeddedMongo, running
from pymongo import AsyncMongoClient, monitoring

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import TenantDirectory
from domain.store.database import Store
from tests.factories import booking_event, message_event

#: Driver chatter that is not the handlers' work, and the index builds a starting app runs
#: in the background.
_IGNORED = frozenset(
    {"hello", "isMaster", "ismaster", "ping", "endSessions", "buildInfo", "createIndexes"}
)

BOOKINGS = 50
#: Booking events in one poll: a worker's ``max_records``.
POLL = 200
MESSAGES = 200


class CommandCounter(monitoring.CommandListener):
    """Counts the commands sent, by name, while ``counting`` is on."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.counting = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.counting and event.command_name not in _IGNORED:
            self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return


@dataclass(frozen=True)
class CommandFigures:
    """Commands one scenario sent, by name, for ``events`` events."""

    events: int
    commands: dict[str, int]

    @property
    def per_event(self) -> float:
        return sum(self.commands.values()) / self.events

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "commands": self.commands,
            "per_event": round(self.per_event, 2),
        }


async def measure_commands(tenants: TenantDirectory) -> dict[str, CommandFigures]:
    """50 bookings of new customers one by one; a poll of 200 booking events (new customers,
    their repeat bookings and status changes); one poll of 200 messages of new participants."""
    listener = CommandCounter()
    mongo = EmbeddedMongo()
    with running(mongo):
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            mongo.uri, tz_aware=True, event_listeners=[listener]
        )
        try:
            store = Store.open(client, f"commands_{uuid.uuid4().hex[:8]}")
            await store.ensure_indexes()
            bookings = BookingsHandler(store, tenants)
            messages = MessagesHandler(store, tenants)

            def booked(n: int) -> Any:
                return booking_event(
                    booking_id=f"b-{n}", emails=[f"p{n}@example.com"], phone=_phone(n)
                )

            async def book() -> None:
                for n in range(BOOKINGS):
                    await bookings.handle(booked(n))

            async def book_poll() -> None:
                # New customers, repeat bookings and status changes, as a worker polls them.
                events = []
                for n in range(BOOKINGS, BOOKINGS + POLL // 3 + 1):
                    events += [
                        booked(n),
                        booking_event(
                            booking_id=f"r-{n}", emails=[f"p{n}@example.com"], phone=_phone(n)
                        ),
                        booking_event(
                            booking_id=f"b-{n}",
                            emails=[f"p{n}@example.com"],
                            phone=_phone(n),
                            version=2,
                            status="cancelled",
                        ),
                    ]
                await bookings.handle_batch(events[:POLL])

            async def talk() -> None:
                await messages.handle_batch(
                    [
                        message_event(
                            provider_message_id=f"wamid.c{n}",
                            channel_user_id=_phone(n)[1:],
                            phone=_phone(n),
                        )
                        for n in range(MESSAGES)
                    ]
                )

            return {
                "bookings, one by one": await counted(listener, book, BOOKINGS),
                "bookings, a poll": await counted(listener, book_poll, POLL),
                "messages": await counted(listener, talk, MESSAGES),
            }
        finally:
            await client.close()


async def counted(
    listener: CommandCounter, work: Callable[[], Awaitable[None]], events: int
) -> CommandFigures:
    """The commands ``work`` sends, for ``events`` events (or requests)."""
    listener.commands.clear()
    listener.counting = True
    try:
        await work()
    finally:
        listener.counting = False
    return CommandFigures(events, dict(sorted(listener.commands.items())))


def _phone(n: int) -> str:
    return f"+4479111{n:05d}"
