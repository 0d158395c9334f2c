"""Which customer a message belongs to, by the rules for messages (docs/identity.md)."""

from contracts import Channel, MessageEvent, Tenant
from domain.documents import ThreadDocument
from domain.store.customers import CandidatePool
from domain.store.database import Store
from matchers import normalise_phone, phone_match_key
from matchers.identity import MESSAGE_RULES, Candidate, Identifiers, Resolution, Rule, resolve

#: The rules answered from the customers' own identifiers; references are looked up apart.
_LOOKED_UP = tuple(rule for rule in MESSAGE_RULES if rule is not Rule.REFERENCE)


class MessageMatcher:
    """Linked channel identity, reference, email, current phone, previous phone; a rule that
    finds several customers makes the message ambiguous and stops."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def candidates(self, tenant_id: str, events: list[MessageEvent]) -> CandidatePool:
        """Every customer the rules other than references may find for ``events``."""
        return await self.store.customers.candidates(
            tenant_id, _LOOKED_UP, [_identifiers(event) for event in events]
        )

    async def match(
        self,
        tenant: Tenant,
        event: MessageEvent,
        thread: ThreadDocument,
        pool: CandidatePool | None = None,
    ) -> Resolution:
        """The event's customer; ``pool``, when given, holds the candidates already fetched
        for it (by ``candidates``)."""
        if thread.get("customer_id"):
            return Resolution(customer_id=thread["customer_id"], rule=Rule.CHANNEL_IDENTITY)
        identifiers = _identifiers(event)
        if pool is None:
            pool = await self.store.customers.candidates(tenant.id, _LOOKED_UP, [identifiers])
        found = pool.by_rule(_LOOKED_UP, identifiers)
        if event.references:
            found[Rule.REFERENCE] = await self._by_reference(tenant, list(event.references))
        return resolve(found, MESSAGE_RULES)

    async def _by_reference(self, tenant: Tenant, codes: list[str]) -> list[Candidate]:
        by_booking = await self.store.bookings.customers_by_codes(tenant.id, codes)
        by_external = await self.store.customers.by_external_ids(tenant.id, codes)
        return [Candidate(customer_id) for customer_id in by_booking] + by_external


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
