"""``bookings.events.v1``: each booking event recorded by the domain for its tenant."""

from consumers.errors import known_tenant
from contracts import BookingEvent, TenantDirectory
from domain.bookings import BookingService
from domain.store.database import Store


class BookingsHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, *, bookings: BookingService | None = None
    ) -> None:
        # ``bookings`` replaces the service over ``store`` (unit tests give one recording calls).
        self.bookings = BookingService(store) if bookings is None else bookings
        self.tenants = tenants

    async def handle(self, event: BookingEvent) -> None:
        await self.bookings.record(known_tenant(self.tenants, event.tenant_id), event)
