"""Stand-ins for the domain services the thin handlers call: each notes its calls and writes
nothing, which is honest here because a handler's whole job is choosing the call."""

from collections.abc import Mapping
from typing import Any

from contracts import BookingEvent, MessageEvent, StatusEvent, Tenant


class UntouchedStore:
    """A store a handler given its domain service must never reach past it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the handler used the store directly: {name}")


class RecordingBookings:
    """BookingService.record, noted."""

    def __init__(self) -> None:
        self.calls: list[tuple[Tenant, BookingEvent]] = []

    async def record(self, tenant: Tenant, event: BookingEvent) -> None:
        self.calls.append((tenant, event))


class RecordingMessages:
    """MessageService.record, noted."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[MessageEvent], dict[str, Tenant]]] = []

    async def record(self, events: list[MessageEvent], tenants: Mapping[str, Tenant]) -> None:
        self.calls.append((list(events), dict(tenants)))


class RecordingStatuses:
    """StatusService.apply, noted."""

    def __init__(self) -> None:
        self.calls: list[StatusEvent] = []

    async def apply(self, event: StatusEvent) -> None:
        self.calls.append(event)
