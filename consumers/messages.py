"""``chat.messages.v1``: each poll's events recorded by the domain in one go: messages, and
(v1.1) the edits, identity changes and consent choices ordered with them."""

from collections.abc import Sequence

from consumers.errors import known_tenant
from contracts import (
    ConsentEvent,
    IdentityEvent,
    MessageEditEvent,
    MessageEvent,
    TenantDirectory,
)
from domain.consents import ConsentService
from domain.edits import EditService
from domain.identities import IdentityService
from domain.messages import MessageService
from domain.store.database import Store

#: Everything ``chat.messages.v1`` carries, by its ``schema`` header.
ConversationEvent = MessageEvent | MessageEditEvent | IdentityEvent | ConsentEvent
SCHEMAS = {
    model.SCHEMA: model for model in (MessageEvent, MessageEditEvent, IdentityEvent, ConsentEvent)
}


class MessagesHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, *, messages: MessageService | None = None
    ) -> None:
        # ``messages`` replaces the service over ``store`` (unit tests give one recording calls).
        self.messages = MessageService(store) if messages is None else messages
        self.edits = EditService(store)
        self.identities = IdentityService(store)
        self.consents = ConsentService(store)
        self.tenants = tenants

    async def handle(self, event: ConversationEvent) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: Sequence[ConversationEvent]) -> None:
        """Record a poll's events; an unknown tenant fails the batch, which the runner then
        handles one by one, so only that event is dead-lettered.

        Messages first, then what changes them: each kind is applied in any order with the
        others, so this order only saves work.
        """
        tenants = {event.tenant_id: known_tenant(self.tenants, event.tenant_id) for event in events}
        messages = [event for event in events if isinstance(event, MessageEvent)]
        if messages:
            await self.messages.record(messages, tenants)
        edits = [event for event in events if isinstance(event, MessageEditEvent)]
        if edits:
            await self.edits.record(edits)
        for event in events:
            if isinstance(event, IdentityEvent):
                await self.identities.apply(event)
        consents = [event for event in events if isinstance(event, ConsentEvent)]
        if consents:
            await self.consents.record(consents)
