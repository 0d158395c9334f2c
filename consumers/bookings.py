"""``bookings.events.v1``: each booking event recorded by the domain for its tenant."""

from consumers.errors import known_tenant
from contracts import BookingEvent, TenantDirectory
from domain.bookings import BookingService
from domain.store.database import Store


class BookingsHandler:
    def __init__(self, store: Store, tenants: TenantDirectory) -> None:
        self.bookings = BookingService(store)
        self.tenants = tenants

    async def handle(self, event: BookingEvent) -> None:
        await self.bookings.record(known_tenant(self.tenants, event.tenant_id), event)
