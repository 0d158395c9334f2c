"""Delivery receipts: they move a message's status forward, never back.

A receipt that arrives before its message is kept and applied when the message arrives; the
message side and the receipt side each check the other after writing, so whichever comes
second applies it.
"""

import structlog

from contracts import StatusEvent
from domain.consents import send_error_consent
from domain.documents import Changes, MessageDocument, StatusErrorDocument
from domain.store.database import Store
from matchers.participants import participant_keys

log = structlog.get_logger(__name__)


class StatusService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def apply(self, event: StatusEvent) -> None:
        """Apply a receipt now, or keep it until its message arrives."""
        error: StatusErrorDocument | None = (
            {"code": event.error.code, "title": event.error.title} if event.error else None
        )
        if (opted_out := send_error_consent(event)) is not None:
            await self.store.consents.keep([opted_out])
        if event.watermark is not None:
            await self._watermark(event)
            return
        details = receipt_details(event)
        found = await self.store.messages.apply_status(
            event.tenant_id,
            event.channel,
            event.provider_message_id,
            event.status,
            event.occurred_at,
            error,
            details,
        )
        if found:
            return
        await self.store.pending_statuses.keep(
            str(event.event_id),
            event.tenant_id,
            event.channel,
            event.provider_message_id,
            event.status,
            event.occurred_at,
            error,
            details,
        )
        # The message may have been stored between our two writes: apply again.
        await self.store.messages.apply_status(
            event.tenant_id,
            event.channel,
            event.provider_message_id,
            event.status,
            event.occurred_at,
            error,
            details,
        )
        log.info("status_kept_for_later", provider_message_id=event.provider_message_id)

    async def _watermark(self, event: StatusEvent) -> None:
        assert event.watermark is not None
        keys = participant_keys(event.channel, event.participant)
        threads = await self.store.threads.with_keys(event.tenant_id, event.channel, keys)
        for thread in threads:
            await self.store.messages.apply_status_up_to(
                thread["_id"], event.watermark, event.status, event.occurred_at
            )


async def apply_pending(store: Store, message: MessageDocument) -> None:
    """Apply receipts that arrived before ``message`` did."""
    pending = await store.pending_statuses.for_messages(
        message["tenant_id"], message["channel"], [message["provider_message_id"]]
    )
    for status in pending:
        await store.messages.apply_status(
            status["tenant_id"],
            status["channel"],
            status["provider_message_id"],
            status["status"],
            status["occurred_at"],
            status["error"],
            status.get("details"),
        )


def receipt_details(event: StatusEvent) -> Changes:
    """What a receipt says of its message besides the status: the provider's pricing and
    conversation (WhatsApp), kept on the message."""
    details: Changes = {}
    if event.pricing is not None:
        details["pricing"] = event.pricing.model_dump(exclude_none=True)
    if event.conversation is not None:
        details["conversation"] = event.conversation.model_dump(exclude_none=True)
    return details
