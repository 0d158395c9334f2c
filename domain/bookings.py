"""Recording a booking event: its customer found or created, the profile brought up to date,
the newest version of the booking stored, and the analytics it changes recomputed.

Every step is idempotent, so an event handled twice, or after a crash half-way, ends in the
same state as once.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import structlog
from bson import Decimal128

from contracts import BookingEvent, Guest, Tenant
from domain import analytics
from domain.documents import BookingDocument, GuestDocument
from domain.linking import link_identifiers, link_references
from domain.profiles import ProfileDetails, booking_changes, details_of_customer, identifiers_of
from domain.store.database import Store
from matchers import keys
from matchers.identity import BOOKING_RULES, Candidate, Identifiers, Rule, resolve

log = structlog.get_logger(__name__)

_PROFILE_WRITE_ATTEMPTS = 20


class BookingService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, tenant: Tenant, event: BookingEvent) -> None:
        """Apply one booking event of ``tenant``."""
        details = details_of_customer(event.customer, tenant, event.occurred_at)
        customer_id, rule = await self.find_or_create(
            tenant.id,
            details,
            source=event.booking.source,
            fallback_key=keys.booking_claim(event.booking.booking_id),
        )
        await self.update_profile(tenant.id, customer_id, details)
        guests = [await self._guest(tenant, guest, event) for guest in event.guests]
        document = booking_document(event, customer_id, rule, guests)
        applied, previous = await self.store.bookings.upsert_if_newer(document)
        # A merge or delete of the customer may have run between the lookup and the write.
        customer_id = await self.settle_owner(tenant, event, document, customer_id, details)
        # Messages naming this booking (or the customer's external id) may have come first.
        await link_references(
            self.store,
            tenant.id,
            customer_id,
            [event.booking.confirmation_code, event.customer.external_id or ""],
        )
        # Refresh even when this version was already stored: a crash between the booking write
        # and the refresh would otherwise leave the analytics behind for good.
        affected = {customer_id}
        if applied and previous and previous != customer_id:
            affected.add(previous)
        await analytics.refresh_many(self.store, tenant, sorted(affected))
        log.info(
            "booking_handled",
            booking_id=event.booking.booking_id,
            version=event.version,
            applied=applied,
            customer_id=customer_id,
            matched_by=rule,
        )

    async def find_or_create(
        self,
        tenant_id: str,
        details: ProfileDetails,
        *,
        source: str,
        fallback_key: str | None = None,
    ) -> tuple[str, str]:
        """The customer these details belong to, created if there is none.

        Returns the customer id and how it was found (a rule, or ``created``).
        """
        ids = details.identifiers
        found = await self.store.customers.candidates_by_rule(tenant_id, BOOKING_RULES, ids)
        if owner := booker_found(found, ids):
            return owner
        # Nobody yet: claim the identifiers so a concurrent creator converges on one profile.
        # With no identifier at all, the booking itself is the claim, so a replay reuses it.
        keys = ids.claim_keys() or ([fallback_key] if fallback_key else [])
        customer_id = await self.store.claims.claim_for_new(tenant_id, keys, uuid.uuid4().hex)
        await self.store.customers.create_if_missing(
            tenant_id, customer_id, source=source, now=datetime.now(UTC)
        )
        return customer_id, "created"

    async def settle_owner(
        self,
        tenant: Tenant,
        event: BookingEvent,
        document: BookingDocument,
        customer_id: str,
        details: ProfileDetails,
    ) -> str:
        """The customer the booking ends with: the one it was written for while that one is
        live; the survivor when it was merged meanwhile; found or created anew when it was
        deleted. The booking is moved there, so it never stays on a retired profile and the
        merge or delete need not be asked again."""
        profile = await self.store.customers.get(tenant.id, customer_id)
        if profile is not None and not profile.get("merged_into"):
            return customer_id
        if profile is not None:
            owner = str(profile["merged_into"])
        else:
            owner, _ = await self.find_or_create(
                tenant.id,
                details,
                source=event.booking.source,
                fallback_key=keys.booking_claim(event.booking.booking_id),
            )
        # The details this booking brings belong on the customer it ends with.
        await self.update_profile(tenant.id, owner, details)
        if await self.store.bookings.reassign(document["_id"], customer_id, owner):
            log.info(
                "booking_followed_its_customer",
                booking_id=event.booking.booking_id,
                retired=customer_id,
                customer_id=owner,
            )
        return owner

    async def update_profile(
        self, tenant_id: str, customer_id: str, details: ProfileDetails
    ) -> None:
        """Bring the profile up to date with ``details``, retrying when another writer got
        there first."""
        for _ in range(_PROFILE_WRITE_ATTEMPTS):
            profile = await self.store.customers.get(tenant_id, customer_id)
            if profile is None:
                return
            changes = booking_changes(profile, details)
            if not changes:
                # Linking is idempotent; a replay after a crash still links what it missed.
                await link_identifiers(self.store, tenant_id, customer_id, details.identifiers)
                return
            if await self.store.customers.update_checked(
                customer_id, int(profile.get("revision", 0)), changes
            ):
                await self.store.claims.claim_more(
                    tenant_id, {customer_id: details.identifiers.claim_keys()}
                )
                await link_identifiers(self.store, tenant_id, customer_id, details.identifiers)
                return
        raise TimeoutError(f"profile {customer_id} kept changing under us")

    async def _guest(self, tenant: Tenant, guest: Guest, event: BookingEvent) -> GuestDocument:
        record, details = guest_of(tenant, guest, event)
        if details is None:
            return record
        customer_id, _ = await self.find_or_create(tenant.id, details, source=event.booking.source)
        await self.update_profile(tenant.id, customer_id, details)
        record["customer_id"] = customer_id
        return record


def booker_found(
    found: Mapping[Rule, Sequence[Candidate]], ids: Identifiers
) -> tuple[str, str] | None:
    """The customer the candidates each rule ``found`` make the booker, and how (a rule, or
    ``{rule}:ambiguous``); None when there is nobody."""
    resolution = resolve(found, BOOKING_RULES, external_id=ids.external_id)
    if resolution.customer_id:
        return resolution.customer_id, str(resolution.rule)
    if resolution.ambiguous:
        # A booking must land somewhere: the oldest of the candidates keeps it.
        log.warning(
            "booking_customer_ambiguous", rule=resolution.rule, candidates=resolution.candidates
        )
        return resolution.candidates[0], f"{resolution.rule}:ambiguous"
    return None


def guest_of(
    tenant: Tenant, guest: Guest, event: BookingEvent
) -> tuple[GuestDocument, ProfileDetails | None]:
    """The guest as the booking stores them (no customer yet), and what they say about
    themselves: None when they give no identifier, so no profile is theirs."""
    ids, invalid = identifiers_of(
        external_id=None,
        emails=[guest.email] if guest.email else [],
        phone=guest.phone,
        region=tenant.default_region,
        channel_identities=[],
    )
    record: GuestDocument = {
        "name": guest.name,
        "email": ids.emails[0] if ids.emails else guest.email,
        "phone": ids.phone or guest.phone,
        "demographic": guest.demographic,
        "customer_id": None,
    }
    if ids.empty:
        return record, None
    details = ProfileDetails(
        identifiers=ids,
        name=guest.name.strip() or None,
        occurred_at=event.occurred_at,
        invalid_phones=invalid,
    )
    return record, details


def booking_document(
    event: BookingEvent, customer_id: str, matched_by: str, guests: list[GuestDocument]
) -> BookingDocument:
    booking = event.booking
    return {
        "_id": keys.booking_id(event.tenant_id, booking.booking_id),
        "tenant_id": event.tenant_id,
        "booking_id": booking.booking_id,
        "version": event.version,
        "event_id": str(event.event_id),
        "event_type": str(event.type),
        "confirmation_code": booking.confirmation_code,
        "status": str(booking.status),
        "activity_name": booking.activity_name,
        "starts_at": booking.starts_at,
        "created_at": booking.created_at,
        "grand_total": Decimal128(booking.grand_total),
        "currency": booking.currency,
        "source": booking.source,
        "branch_id": booking.branch_id,
        "customer_id": customer_id,
        "matched_by": matched_by,
        "customer": event.customer.model_dump(mode="json", exclude_none=True),
        "guests": guests,
        "occurred_at": event.occurred_at,
        "updated_at": datetime.now(UTC),
    }
