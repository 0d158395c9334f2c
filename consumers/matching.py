"""Which customer a message belongs to, by SPEC's rules for messages."""

from typing import Any

from consumers.store.database import Store
from contracts import Channel, MessageEvent, Tenant
from matchers import normalise_phone, phone_match_key
from matchers.identity import MESSAGE_RULES, Candidate, Identifiers, Resolution, Rule, resolve


class MessageMatcher:
    """Linked channel identity, reference, email, current phone, previous phone; a rule that
    finds several customers makes the message ambiguous and stops."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def match(
        self, tenant: Tenant, event: MessageEvent, thread: dict[str, Any]
    ) -> Resolution:
        if thread.get("customer_id"):
            return Resolution(customer_id=thread["customer_id"], rule=Rule.CHANNEL_IDENTITY)
        identifiers = _identifiers(event)
        for rule in MESSAGE_RULES:
            candidates = await self._candidates(tenant, rule, identifiers, event)
            resolution = resolve({rule: candidates}, (rule,))
            if resolution.customer_id or resolution.ambiguous:
                return resolution
        return Resolution()

    async def _candidates(
        self, tenant: Tenant, rule: Rule, identifiers: Identifiers, event: MessageEvent
    ) -> list[Candidate]:
        if rule is Rule.REFERENCE:
            if not event.references:
                return []
            codes = list(event.references)
            by_booking = await self.store.bookings.customers_by_codes(tenant.id, codes)
            by_external = await self.store.customers.by_external_ids(tenant.id, codes)
            return [Candidate(customer_id) for customer_id in by_booking] + by_external
        return await self.store.customers.candidates(tenant.id, rule, identifiers)


def _identifiers(event: MessageEvent) -> Identifiers:
    participant = event.participant
    phone = normalise_phone(participant.phone) if participant.phone else None
    identities = [(str(event.channel), participant.channel_user_id)]
    if participant.user_id and event.channel is Channel.WHATSAPP:
        identities.append((str(event.channel), participant.user_id))
    return Identifiers(
        emails=(participant.email,) if participant.email else (),
        phone=phone,
        phone_key=phone_match_key(phone) if phone else None,
        channel_identities=tuple(identities),
    )
