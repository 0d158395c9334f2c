"""Consent choices (v1.1): every one a person makes on a channel is kept, as received.

Kept by the participant's keys within the channel, so a choice made before the person is
linked to a customer is theirs once they are.
"""

from contracts import ConsentEvent
from domain.documents import ConsentEventDocument
from domain.store.database import Store
from matchers.participants import participant_keys


class ConsentService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, events: list[ConsentEvent]) -> None:
        await self.store.consents.keep([consent_document(event) for event in events])


def consent_document(event: ConsentEvent) -> ConsentEventDocument:
    return {
        "_id": str(event.event_id),
        "tenant_id": event.tenant_id,
        "channel": str(event.channel),
        "participant_keys": participant_keys(event.channel, event.participant),
        "business_account": event.business.channel_account_id,
        "topic": str(event.topic),
        "status": str(event.status),
        "source": event.source,
        "keyword": event.keyword,
        "provider_message_id": event.provider_message_id,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
    }
