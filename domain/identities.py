"""A participant's identity moved (v1.1): WhatsApp's ``user_changed_number`` and
``user_changed_user_id``.

The threads known by the old identity gain the new one's keys, so the person's later
messages under it join them; a thread the new identity already had becomes one with them.
Applying a change twice changes nothing more.
"""

import structlog

from contracts import IdentityEvent, Participant
from domain.documents import ParticipantDocument
from domain.store.database import Store
from domain.threads import converge
from matchers import normalise_wa_id
from matchers.participants import participant_keys

log = structlog.get_logger(__name__)


class IdentityService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def apply(self, event: IdentityEvent) -> None:
        before = participant_keys(event.channel, event.participant)
        after = moved(event)
        keys = participant_keys(event.channel, after)
        threads = await self.store.threads.with_keys(event.tenant_id, event.channel, before)
        details: ParticipantDocument = {"channel_user_id": after.channel_user_id}
        if after.phone:
            details["phone"] = after.phone
        if after.user_id:
            details["user_id"] = after.user_id
        for thread in threads:
            await self.store.threads.move_identity(thread["_id"], keys, details)
        # The new identity may have written first and have a thread of its own: one person,
        # one thread.
        found = await self.store.threads.with_keys(event.tenant_id, event.channel, keys)
        live = {thread["_id"]: thread for thread in found if not thread.get("merged_into")}
        if len(live) > 1:
            await converge(self.store, list(live.values()))
        log.info(
            "identity_moved",
            change=str(event.change),
            threads=len(threads),
            provider_message_id=event.provider_message_id,
        )


def moved(event: IdentityEvent) -> Participant:
    """The participant as the change leaves them: the new number or user id, the rest kept."""
    old = event.participant
    channel_user_id = event.new_channel_user_id or old.channel_user_id
    phone = event.new_phone or (
        normalise_wa_id(event.new_channel_user_id) if event.new_channel_user_id else old.phone
    )
    return old.model_copy(
        update={
            "channel_user_id": channel_user_id,
            "phone": phone,
            "user_id": event.new_user_id or old.user_id,
        }
    )
