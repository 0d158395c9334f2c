"""Recording a poll of booking events in one go: the same end state as recording them one by one
(``domain.bookings``), in a few commands per poll instead of about a dozen per event.

The poll's people are matched against one read of their candidate profiles, in event order, in
memory: a customer the poll creates is found by the poll's later events, and a profile's new
identifiers count for the events after them. Then each collection is written once: the new
customers' claims, the changed profiles, the bookings (version-gated), the new customers (whole,
with their analytics), the retroactive links, and the analytics of the existing customers the
poll touched, recomputed from their stored bookings.

A claim left by a creator that never wrote its profile is taken over, as one by one it would be.
Whatever else another writer changed since the read (a profile of the poll's new people created
meanwhile, an edit on the dashboard) is detected by the writes themselves and raises
``PollConflict`` before anything is lost; the caller then records the poll's events one by one,
whose writes are idempotent.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from contracts import BookingEvent, Tenant
from domain import analytics
from domain.bookings import BookingService, booker_found, booking_document, guest_of
from domain.documents import BookingDocument, Changes, CustomerDocument, GuestDocument
from domain.linking import link_identifiers_of, link_references
from domain.profiles import ProfileDetails, booking_changes, details_of_customer
from domain.store.customers import CandidatePool, new_profile
from domain.store.database import Store
from matchers import keys
from matchers.identity import BOOKING_RULES, Identifiers

log = structlog.get_logger(__name__)


class PollConflict(Exception):
    """Another writer changed what the poll read; its events are to be recorded one by one."""


@dataclass
class _Profiles:
    """The poll's view of the profiles it may touch: read once, changed in memory."""

    documents: dict[str, CustomerDocument]
    #: Which profiles each identifier value may find (a superset: ``_finds`` decides).
    index: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: Profiles created by this poll, with the claim keys they were created under.
    created: dict[str, list[str]] = field(default_factory=dict)
    #: The creation claims of this poll's new profiles.
    claimed: dict[str, str] = field(default_factory=dict)
    #: Per profile, the changes made since the read (a ``$set``).
    changes: dict[str, Changes] = field(default_factory=dict)
    #: Identifiers profiles gained (claimed after the write, owned elsewhere or not).
    more_claims: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def __post_init__(self) -> None:
        for document in self.documents.values():
            self._index(document)

    def _index(self, document: CustomerDocument) -> None:
        values = [f"x:{document.get('external_id')}", f"p:{document.get('phone_key')}"]
        values += [f"e:{email}" for email in document.get("emails") or []]
        values += [f"p:{key}" for key in document.get("previous_phone_keys") or []]
        values += [
            f"c:{item['channel']}:{item['channel_user_id']}"
            for item in document.get("channel_identities") or []
        ]
        for value in values:
            self.index[value].add(document["_id"])

    def candidates(self, ids: Identifiers) -> CandidatePool:
        values = [f"x:{ids.external_id}", f"p:{ids.phone_key}"]
        values += [f"e:{email}" for email in ids.emails]
        values += [f"c:{channel}:{user}" for channel, user in ids.channel_identities]
        found = {customer for value in values for customer in self.index.get(value, ())}
        documents = [self.documents[customer] for customer in found]
        return CandidatePool(sorted(documents, key=lambda d: (d["created_at"], d["_id"])))

    def create(self, tenant_id: str, claims: list[str], *, source: str, now: datetime) -> str:
        """A new profile under ``claims``, or the one of this poll that claimed one first."""
        for claim in sorted(set(claims)):
            if claim in self.claimed:
                return self.claimed[claim]
        customer_id = uuid.uuid4().hex
        # Created one after another, as one by one they would be: the oldest keeps ties.
        created_at = now + timedelta(microseconds=len(self.created))
        document: CustomerDocument = {
            "_id": customer_id,
            **new_profile(tenant_id, source=source, now=created_at),
        }
        self.documents[customer_id] = document
        self.created[customer_id] = sorted(set(claims))
        for claim in claims:
            self.claimed[claim] = customer_id
        return customer_id

    def rename(self, ids: dict[str, str]) -> None:
        """New customers to be created under other ids (old: new)."""
        for old, new in ids.items():
            document = self.documents.pop(old)
            document["_id"] = new
            self.documents[new] = document
            self.created[new] = self.created.pop(old)
            if old in self.changes:
                self.changes[new] = self.changes.pop(old)
            if old in self.more_claims:
                self.more_claims[new] = self.more_claims.pop(old)

    def update(self, customer_id: str, details: ProfileDetails) -> None:
        document = self.documents[customer_id]
        changes = booking_changes(document, details)
        if not changes:
            return
        document.update(changes)  # type: ignore[typeddict-item]  # a $set of profile fields
        self.changes.setdefault(customer_id, {}).update(changes)
        self.more_claims[customer_id].update(details.identifiers.claim_keys())
        self._index(document)


@dataclass(frozen=True, slots=True)
class _Recorded:
    """One event as the poll matched it."""

    event: BookingEvent
    document: BookingDocument
    details: ProfileDetails
    #: Everyone the event names who has an identifier: (customer, identifiers).
    people: list[tuple[str, Identifiers]]


class BookingPolls:
    def __init__(self, store: Store, bookings: BookingService) -> None:
        self.store = store
        #: Records one event where the poll cannot (a profile retired under it).
        self.bookings = bookings

    async def record(self, tenant: Tenant, events: list[BookingEvent]) -> None:
        """Apply a poll of ``tenant``'s booking events, in their order: together, or one by
        one when another writer changed what the poll read."""
        try:
            await self._record(tenant, events)
        except PollConflict as conflict:
            log.info("booking_poll_one_by_one", reason=str(conflict), events=len(events))
            for event in events:
                await self.bookings.record(tenant, event)

    async def _record(self, tenant: Tenant, events: list[BookingEvent]) -> None:
        now = datetime.now(UTC)
        every = [details_of_customer(e.customer, tenant, e.occurred_at) for e in events]
        guests = [[guest_of(tenant, guest, e) for guest in e.guests] for e in events]
        asked = [d.identifiers for d in every] + [
            d.identifiers for row in guests for _, d in row if d is not None
        ]
        read = await self.store.customers.candidates(tenant.id, BOOKING_RULES, asked, whole=True)
        profiles = _Profiles({document["_id"]: document for document in read.documents})
        revisions = {d["_id"]: int(d.get("revision", 0)) for d in read.documents}
        recorded = []
        for event, details, guest_details in zip(events, every, guests, strict=True):
            customer_id, rule = _match(
                profiles,
                tenant.id,
                details,
                source=event.booking.source,
                now=now,
                fallback=keys.booking_claim(event.booking.booking_id),
            )
            profiles.update(customer_id, details)
            people = [(customer_id, details.identifiers)]
            rows: list[GuestDocument] = []
            for row, guest_detail in guest_details:
                if guest_detail is not None:
                    guest_id, _ = _match(
                        profiles, tenant.id, guest_detail, source=event.booking.source, now=now
                    )
                    profiles.update(guest_id, guest_detail)
                    row["customer_id"] = guest_id
                    people.append((guest_id, guest_detail.identifiers))
                rows.append(row)
            document = booking_document(event, customer_id, rule, rows)
            recorded.append(_Recorded(event, document, details, people))

        adopted = await self._write_profiles(tenant.id, profiles, revisions)
        if adopted:
            recorded = [_renamed(item, adopted) for item in recorded]
        applied = await self.store.bookings.upsert_many_if_newer(
            [item.document for item in recorded]
        )
        await self._create(tenant, profiles, now)
        owners = await self._settle_owners(tenant, recorded)
        await self._link(tenant.id, recorded, owners)
        # As one by one: every booker's analytics (even for a version already stored, so a
        # crash before the refresh heals), and those of a booking's previous booker. The new
        # customers were created with theirs.
        affected = set(owners.values()) | {p for p in applied.values() if p is not None}
        await analytics.refresh_many(self.store, tenant, sorted(affected - set(profiles.created)))
        log.info(
            "bookings_handled",
            events=len(events),
            applied=len(applied),
            created=len(profiles.created),
            customers=len(affected),
        )

    async def _write_profiles(
        self, tenant_id: str, profiles: _Profiles, revisions: dict[str, int]
    ) -> dict[str, str]:
        """Claim the new customers' identifiers, and change the existing profiles. Returns the
        new customers that took the id of claims a creator left without a profile."""
        adopted = await self._claim(tenant_id, profiles)
        updates = {
            customer: (revisions[customer], changes)
            for customer, changes in profiles.changes.items()
            if customer not in profiles.created
        }
        if not await self.store.customers.update_many_checked(updates):
            raise PollConflict("a profile the poll changed was changed by another writer")
        gained = {
            customer: sorted(claims - set(profiles.created.get(customer, [])))
            for customer, claims in profiles.more_claims.items()
        }
        await self.store.claims.claim_more(tenant_id, gained)
        return adopted

    async def _claim(self, tenant_id: str, profiles: _Profiles) -> dict[str, str]:
        """Claim the new customers' identifiers, as ``claim_for_new`` would one by one. A new
        customer whose claim was owned by one with no profile (its creator stopped between
        the claim and the profile, or is still at work) takes that id: both converge on one
        profile. One owned by an existing profile means another writer created it: the
        claims go to it, and PollConflict."""
        adopted = await self.store.claims.claim_for_many_new(tenant_id, profiles.created)
        if not adopted:
            return {}
        await self.store.claims.move_many(tenant_id, adopted)
        taken = set(adopted.values())
        if len(taken) < len(adopted) or await self.store.customers.existing(sorted(taken)):
            raise PollConflict("another writer created one of the poll's new customers first")
        profiles.rename(adopted)
        return adopted

    async def _create(self, tenant: Tenant, profiles: _Profiles, now: datetime) -> None:
        """Create the new customers whole, their analytics computed from the bookings just
        stored for them: one insert each, where creating, counting and storing the analytics
        would be three writes. Nobody else can have written for them: another writer that
        found their claims creates the profile first, and then this insert fails."""
        if not profiles.created:
            return
        created = [profiles.documents[customer] for customer in profiles.created]
        stored = await self.store.bookings.of_customers(tenant.id, sorted(profiles.created))
        for document in created:
            computed, known = analytics.computed(
                tenant, stored.get(document["_id"], []), document["_id"]
            )
            document["analytics"] = {**document["analytics"], **computed}
            document["known_customers"] = known
            if document["_id"] in profiles.changes:
                document["revision"] = 1
                document["updated_at"] = now
        if not await self.store.customers.insert_new(created):
            raise PollConflict("another writer created one of the poll's new customers first")

    async def _settle_owners(self, tenant: Tenant, recorded: list[_Recorded]) -> dict[int, str]:
        """The customer each event's booking ends with (by position in the poll): its own
        while live; for one merged or deleted since the read, the one-by-one rules decide."""
        wanted = sorted({item.document["customer_id"] or "" for item in recorded})
        live = await self.store.customers.live(tenant.id, wanted)
        owners: dict[int, str] = {}
        for position, item in enumerate(recorded):
            customer_id = item.document["customer_id"] or ""
            if customer_id in live:
                owners[position] = customer_id
                continue
            owners[position] = await self.bookings.settle_owner(
                tenant, item.event, item.document, customer_id, item.details
            )
        return owners

    async def _link(
        self, tenant_id: str, recorded: list[_Recorded], owners: dict[int, str]
    ) -> None:
        """Earlier communications of the poll's people become theirs: unlinked threads with
        their identifiers, and threads whose messages name the bookings' references."""
        people = [person for item in recorded for person in item.people]
        await link_identifiers_of(self.store, tenant_id, people)
        references = {
            position: [item.event.booking.confirmation_code, item.event.customer.external_id or ""]
            for position, item in enumerate(recorded)
        }
        named = await self.store.messages.referenced(
            tenant_id, sorted({ref for refs in references.values() for ref in refs if ref})
        )
        for position, refs in references.items():
            if named.intersection(refs):
                await link_references(self.store, tenant_id, owners[position], refs)


def _renamed(item: _Recorded, ids: dict[str, str]) -> _Recorded:
    """``item`` with the new customers of ``ids`` under their adopted ids."""
    document = item.document
    if document["customer_id"] in ids:
        document["customer_id"] = ids[document["customer_id"]]
    for guest in document["guests"]:
        if guest["customer_id"] in ids:
            guest["customer_id"] = ids[guest["customer_id"]]
    people = [(ids.get(customer, customer), who) for customer, who in item.people]
    return _Recorded(item.event, document, item.details, people)


def _match(
    profiles: _Profiles,
    tenant_id: str,
    details: ProfileDetails,
    *,
    source: str,
    now: datetime,
    fallback: str | None = None,
) -> tuple[str, str]:
    """``BookingService.find_or_create`` over the poll's profiles."""
    ids = details.identifiers
    if owner := booker_found(profiles.candidates(ids).by_rule(BOOKING_RULES, ids), ids):
        return owner
    claims = ids.claim_keys() or ([fallback] if fallback else [])
    return profiles.create(tenant_id, claims, source=source, now=now), "created"
