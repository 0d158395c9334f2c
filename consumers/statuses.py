"""``chat.statuses.v1``: each delivery receipt applied by the domain."""

from consumers.errors import known_tenant
from contracts import StatusEvent, TenantDirectory
from domain.statuses import StatusService
from domain.store.database import Store


class StatusesHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, *, statuses: StatusService | None = None
    ) -> None:
        # ``statuses`` replaces the service over ``store`` (unit tests give one recording calls).
        self.statuses = StatusService(store) if statuses is None else statuses
        self.tenants = tenants

    async def handle(self, event: StatusEvent) -> None:
        known_tenant(self.tenants, event.tenant_id)
        await self.statuses.apply(event)
