"""``chat.messages.v1``: each poll's message events recorded by the domain in one go."""

from consumers.errors import known_tenant
from contracts import MessageEvent, TenantDirectory
from domain.messages import MessageService
from domain.store.database import Store


class MessagesHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, *, messages: MessageService | None = None
    ) -> None:
        # ``messages`` replaces the service over ``store`` (unit tests give one recording calls).
        self.messages = MessageService(store) if messages is None else messages
        self.tenants = tenants

    async def handle(self, event: MessageEvent) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: list[MessageEvent]) -> None:
        """Record a poll's events; an unknown tenant fails the batch, which the runner then
        handles one by one, so only that event is dead-lettered."""
        tenants = {event.tenant_id: known_tenant(self.tenants, event.tenant_id) for event in events}
        await self.messages.record(events, tenants)
