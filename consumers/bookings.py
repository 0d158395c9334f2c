"""``bookings.events.v1``: each poll's booking events recorded by the domain for their tenants."""

from collections.abc import Sequence

from consumers.errors import known_tenant
from contracts import BookingEvent, Tenant, TenantDirectory
from domain.booking_polls import BookingPolls
from domain.bookings import BookingService
from domain.store.database import Store


class BookingsHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, *, bookings: BookingService | None = None
    ) -> None:
        # ``bookings`` replaces the service over ``store`` (unit tests give one recording calls).
        self.bookings = BookingService(store) if bookings is None else bookings
        self.polls = BookingPolls(store, self.bookings)
        self.tenants = tenants

    async def handle(self, event: BookingEvent) -> None:
        await self.bookings.record(known_tenant(self.tenants, event.tenant_id), event)

    async def handle_batch(self, events: Sequence[BookingEvent]) -> None:
        """Record a poll's events, each tenant's together; an unknown tenant fails the batch,
        which the runner then handles one by one, so only that event is dead-lettered."""
        by_tenant: dict[str, tuple[Tenant, list[BookingEvent]]] = {}
        for event in events:
            tenant = known_tenant(self.tenants, event.tenant_id)
            by_tenant.setdefault(tenant.id, (tenant, []))[1].append(event)
        for tenant, polled in by_tenant.values():
            await self.polls.record(tenant, polled)
