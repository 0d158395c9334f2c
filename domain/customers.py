"""What the customer pages do to profiles: create, edit, delete and merge them.

Every change keeps the same invariants as the bookings worker: identifiers are claimed in
``identity_claims``, a gained identifier links earlier unlinked conversations, and analytics
always equal a recomputation from the stored bookings.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from contracts import Tenant
from domain import analytics
from domain.documents import Changes, CustomerDocument
from domain.linking import link_identifiers
from domain.profiles import (
    clean_tags,
    identifiers_of,
    lost_claim_keys,
    merged_profile,
    phone_edit,
)
from domain.store.customers import new_profile
from domain.store.database import Store
from matchers.identity import Identifiers, Rule

log = structlog.get_logger(__name__)

_WRITE_ATTEMPTS = 5

#: Fields the dashboard sets as given (the identifiers get their own handling).
PLAIN_FIELDS = ("name", "address", "date_of_birth", "company_name", "tags", "notes")


class CustomerError(Exception):
    """A change the customer pages asked for that cannot be made as asked."""


class CustomerNotFound(CustomerError):
    """No live customer with that id in the tenant; ``merged_into`` when it was merged."""

    def __init__(self, customer_id: str, merged_into: str | None = None) -> None:
        super().__init__(f"customer {customer_id} not found")
        self.customer_id = customer_id
        self.merged_into = merged_into


class IdentifierTaken(CustomerError):
    """An email or external id already belongs to another customer (merge them instead)."""

    def __init__(self, owners: dict[str, list[str]]) -> None:
        super().__init__("identifier already belongs to another customer")
        self.owners = owners


class MergeRefused(CustomerError):
    """The two profiles cannot be merged (two different external ids)."""


class ChangedConcurrently(CustomerError):
    """The profile kept changing under the edit; the caller may retry."""


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """What a create or an edit gives; ``fields_set`` tells a field left out from a null."""

    values: dict[str, Any]
    fields_set: frozenset[str]


class CustomerService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, tenant: Tenant, customer_id: str) -> CustomerDocument:
        """The live profile; CustomerNotFound (with ``merged_into``) otherwise."""
        profile = await self.store.customers.get(tenant.id, customer_id)
        if profile is None:
            raise CustomerNotFound(customer_id)
        if profile.get("merged_into"):
            raise CustomerNotFound(customer_id, profile["merged_into"])
        return profile

    async def create(self, tenant: Tenant, changes: CustomerChanges) -> CustomerDocument:
        values = changes.values
        ids, invalid = self._identifiers(tenant, values)
        await self._refuse_taken(tenant, ids, owner=None)
        customer_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        document: CustomerDocument = {
            **new_profile(tenant.id, source="dashboard", now=now),
            "_id": customer_id,
            "updated_at": now,
            "name": (values.get("name") or "").strip() or None,
            "emails": list(ids.emails),
            "phone": ids.phone,
            "phone_key": ids.phone_key,
            "phone_changed_at": now if ids.phone else None,
            "unmatched_phones": list(invalid),
            "channel_identities": [
                {"channel": channel, "channel_user_id": user}
                for channel, user in ids.channel_identities
            ],
            "external_id": ids.external_id,
            "address": values.get("address"),
            "date_of_birth": values.get("date_of_birth"),
            "company_name": values.get("company_name"),
            "tags": clean_tags(values.get("tags")),
            "notes": values.get("notes"),
        }
        await self.store.customers.insert(document)
        await self.store.claims.claim_more(tenant.id, {customer_id: ids.claim_keys()})
        await link_identifiers(self.store, tenant.id, customer_id, ids)
        log.info("customer_created", customer_id=customer_id)
        return await self.get(tenant, customer_id)

    async def update(
        self, tenant: Tenant, customer_id: str, changes: CustomerChanges
    ) -> CustomerDocument:
        """Apply an edit; a replaced phone moves to ``previous_phones``."""
        for _ in range(_WRITE_ATTEMPTS):
            profile = await self.get(tenant, customer_id)
            updates, gained = await self._edit(tenant, profile, changes)
            if not updates:
                return profile
            if await self.store.customers.update_checked(
                customer_id, int(profile.get("revision", 0)), updates
            ):
                await self.store.claims.claim_more(tenant.id, {customer_id: gained.claim_keys()})
                await self.store.claims.release(
                    tenant.id, customer_id, lost_claim_keys(profile, updates)
                )
                await link_identifiers(self.store, tenant.id, customer_id, gained)
                return await self.get(tenant, customer_id)
        raise ChangedConcurrently(f"customer {customer_id} kept changing; try again")

    async def delete(self, tenant: Tenant, customer_id: str) -> None:
        """Remove the profile: its conversations become unlinked, its bookings keep their
        snapshot of the customer, its identifiers are free for a new profile."""
        await self.get(tenant, customer_id)
        bookers = await self.store.bookings.primary_bookers_of_guest(tenant.id, customer_id)
        await self.store.threads.move_customer(tenant.id, customer_id, None)
        await self.store.messages.move_customer(tenant.id, customer_id, None)
        await self.store.bookings.move_customer(tenant.id, customer_id, None)
        await self.store.claims.release(tenant.id, customer_id)
        await self.store.customers.delete(tenant.id, customer_id)
        # Once more: a booking written for the customer while it was being deleted. One written
        # after this finds the profile gone and goes to the customer its details find.
        await self.store.bookings.move_customer(tenant.id, customer_id, None)
        await analytics.refresh_many(self.store, tenant, sorted(set(bookers) - {customer_id}))
        log.info("customer_deleted", customer_id=customer_id)

    async def merge(self, tenant: Tenant, survivor_id: str, other_id: str) -> CustomerDocument:
        """Move everything of ``other_id`` to ``survivor_id``; the other then answers 404 with
        ``merged_into``. Each step is idempotent and the other is retired last, so a merge
        interrupted half-way can simply be asked again."""
        if survivor_id == other_id:
            raise MergeRefused("a customer cannot be merged with itself")
        survivor = await self.get(tenant, survivor_id)
        other = await self.get(tenant, other_id)
        ours, theirs = survivor.get("external_id"), other.get("external_id")
        if ours and theirs and ours != theirs:
            raise MergeRefused("the customers have different external ids")
        for _ in range(_WRITE_ATTEMPTS):
            updates = merged_profile(survivor, other)
            if not updates or await self.store.customers.update_checked(
                survivor_id, int(survivor.get("revision", 0)), updates
            ):
                break
            survivor = await self.get(tenant, survivor_id)
        else:
            raise ChangedConcurrently(f"customer {survivor_id} kept changing; try again")
        bookers = await self.store.bookings.primary_bookers_of_guest(tenant.id, other_id)
        await self.store.claims.move(tenant.id, other_id, survivor_id)
        await self.store.bookings.move_customer(tenant.id, other_id, survivor_id)
        await self.store.threads.move_customer(tenant.id, other_id, survivor_id)
        await self.store.messages.move_customer(tenant.id, other_id, survivor_id)
        await self.store.customers.mark_merged(tenant.id, other_id, survivor_id)
        # Once more: a booking written for the other while it was being moved (a booking
        # worker that found it just before). One written after this sees it merged and follows.
        await self.store.bookings.move_customer(tenant.id, other_id, survivor_id)
        await analytics.refresh_many(
            self.store, tenant, sorted({survivor_id, *bookers} - {other_id})
        )
        latest = await self.store.messages.latest_for_customer(tenant.id, survivor_id)
        if latest is not None:
            await self.store.customers.touch_contact(survivor_id, latest)
        log.info("customers_merged", survivor=survivor_id, merged=other_id)
        return await self.get(tenant, survivor_id)

    def _identifiers(
        self, tenant: Tenant, values: dict[str, Any]
    ) -> tuple[Identifiers, tuple[str, ...]]:
        """Normalised identifiers, and the phones given that are not valid numbers."""
        return identifiers_of(
            external_id=values.get("external_id"),
            emails=values.get("emails") or [],
            phone=values.get("phone"),
            region=tenant.default_region,
            channel_identities=[
                (item["channel"], item["channel_user_id"])
                for item in values.get("channel_identities") or []
            ],
        )

    async def _refuse_taken(self, tenant: Tenant, ids: Identifiers, owner: str | None) -> None:
        """An email or external id of another live customer cannot be given to this one.

        Phones may be shared (a family's landline); the matchers then call a message
        ambiguous rather than guess.
        """
        if not (ids.external_id or ids.emails):
            return
        found = await self.store.customers.candidates_by_rule(
            tenant.id,
            (Rule.EXTERNAL_ID, Rule.EMAIL),
            Identifiers(external_id=ids.external_id, emails=ids.emails),
        )
        taken = {
            str(rule): sorted({c.customer_id for c in candidates} - {owner})
            for rule, candidates in found.items()
        }
        taken = {rule: owners for rule, owners in taken.items() if owners}
        if taken:
            raise IdentifierTaken(taken)

    async def _edit(
        self, tenant: Tenant, profile: CustomerDocument, changes: CustomerChanges
    ) -> tuple[Changes, Identifiers]:
        """The ``$set`` an edit makes, and the identifiers the profile gains by it."""
        values, given = changes.values, changes.fields_set
        updates: Changes = {}
        for name in PLAIN_FIELDS:
            if name in given:
                value: Any = values[name]
                if name == "tags":
                    value = clean_tags(value)
                elif name == "name":
                    value = (value or "").strip() or None
                if value != profile.get(name):
                    updates[name] = value
        ids, invalid = self._identifiers(tenant, values)
        gained_emails: tuple[str, ...] = ()
        if "emails" in given:
            emails = list(ids.emails)
            if emails != list(profile.get("emails") or []):
                updates["emails"] = emails
            gained_emails = tuple(e for e in emails if e not in (profile.get("emails") or []))
        external_id = None
        if "external_id" in given and ids.external_id != profile.get("external_id"):
            updates["external_id"] = ids.external_id
            external_id = ids.external_id
        await self._refuse_taken(
            tenant, Identifiers(external_id=external_id, emails=gained_emails), profile["_id"]
        )
        if "phone" in given:
            updates.update(phone_edit(profile, ids, invalid))
        if "channel_identities" in given:
            identities = [
                {"channel": channel, "channel_user_id": user}
                for channel, user in ids.channel_identities
            ]
            if identities != (profile.get("channel_identities") or []):
                updates["channel_identities"] = identities
        gained = Identifiers(
            external_id=external_id,
            emails=gained_emails,
            phone=ids.phone if "phone_key" in updates else None,
            phone_key=ids.phone_key if "phone_key" in updates else None,
            channel_identities=ids.channel_identities if "channel_identities" in updates else (),
        )
        return updates, gained
