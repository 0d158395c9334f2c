"""How a profile changes: by a booking's customer details, by an edit on the dashboard, by a
merge with another profile. Pure: each function returns the ``$set`` the store applies."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from contracts import BookingCustomer, Tenant
from domain.documents import Changes, CustomerDocument, StoredJson
from matchers import keys, normalise_email, normalise_phone, phone_match_key
from matchers.identity import Identifiers


@dataclass(frozen=True, slots=True)
class ProfileDetails:
    """What a booking says about a person, normalised."""

    identifiers: Identifiers
    name: str | None = None
    address: StoredJson | None = None
    date_of_birth: date | None = None
    company_name: str | None = None
    occurred_at: datetime | None = None
    invalid_phones: tuple[str, ...] = field(default_factory=tuple)


def identifiers_of(
    *,
    external_id: str | None,
    emails: list[str],
    phone: str | None,
    region: str,
    channel_identities: list[tuple[str, str]],
) -> tuple[Identifiers, tuple[str, ...]]:
    """Normalised identifiers, and the phones that were not valid numbers (kept, not matched)."""
    normalised: dict[str, None] = {}
    for email in emails:
        address = normalise_email(email)
        if address:
            normalised.setdefault(address, None)
    e164 = normalise_phone(phone, region) if phone else None
    invalid = (phone.strip(),) if phone and e164 is None and phone.strip() else ()
    identities = tuple(dict.fromkeys((str(c), u) for c, u in channel_identities))
    return (
        Identifiers(
            external_id=(external_id or "").strip() or None,
            emails=tuple(normalised),
            phone=e164,
            phone_key=phone_match_key(e164) if e164 else None,
            channel_identities=identities,
        ),
        invalid,
    )


def details_of_customer(
    customer: BookingCustomer, tenant: Tenant, occurred_at: datetime
) -> ProfileDetails:
    identifiers, invalid = identifiers_of(
        external_id=customer.external_id,
        emails=customer.emails,
        phone=customer.phone,
        region=customer.phone_region or tenant.default_region,
        channel_identities=[(i.channel, i.channel_user_id) for i in customer.channel_identities],
    )
    return ProfileDetails(
        identifiers=identifiers,
        name=customer.name.strip() or None,
        address=customer.address.model_dump(exclude_none=True) if customer.address else None,
        date_of_birth=customer.date_of_birth,
        company_name=customer.company_name,
        occurred_at=occurred_at,
        invalid_phones=invalid,
    )


def booking_changes(profile: CustomerDocument, details: ProfileDetails) -> Changes:
    """The fields of ``profile`` that ``details`` change (a ``$set`` document).

    New emails are appended (the first stays primary). A new phone becomes current and the
    old one moves to ``previous_phones`` — unless the booking is older than the last phone
    change, in which case its phone is only remembered as a previous one, so events handled
    out of order cannot bring an old number back. Blank name, address, company and date of
    birth are filled in; channel identities and the external id are added.
    """
    ids = details.identifiers
    changes: Changes = {}
    emails = list(profile.get("emails") or [])
    added = [email for email in ids.emails if email not in emails]
    if added:
        changes["emails"] = emails + added
    if ids.phone and ids.phone_key:
        changes.update(phone_changes(profile, ids.phone, ids.phone_key, details.occurred_at))
    identities = list(profile.get("channel_identities") or [])
    known = {(item["channel"], item["channel_user_id"]) for item in identities}
    fresh = [
        {"channel": channel, "channel_user_id": user}
        for channel, user in ids.channel_identities
        if (channel, user) not in known
    ]
    if fresh:
        changes["channel_identities"] = identities + fresh
    if ids.external_id and not profile.get("external_id"):
        changes["external_id"] = ids.external_id
    if details.name and not profile.get("name"):
        changes["name"] = details.name
    if details.address and not profile.get("address"):
        changes["address"] = details.address
    if details.company_name and not profile.get("company_name"):
        changes["company_name"] = details.company_name
    if details.date_of_birth and not profile.get("date_of_birth"):
        changes["date_of_birth"] = details.date_of_birth.isoformat()
    unmatched = list(profile.get("unmatched_phones") or [])
    new_invalid = [phone for phone in details.invalid_phones if phone not in unmatched]
    if new_invalid:
        changes["unmatched_phones"] = unmatched + new_invalid
    return changes


def current_phone(profile: CustomerDocument) -> tuple[str, str] | None:
    """The profile's current phone and its match key, when it has one."""
    phone, key = profile.get("phone"), profile.get("phone_key")
    return (phone, key) if phone and key else None


def phone_changes(
    profile: CustomerDocument, phone: str, key: str, occurred_at: datetime | None
) -> Changes:
    current = current_phone(profile)
    current_key = current[1] if current else None
    if current_key == key:
        return {}
    previous = list(profile.get("previous_phones") or [])
    previous_keys = list(profile.get("previous_phone_keys") or [])
    changed_at: datetime | None = profile.get("phone_changed_at")
    newer = changed_at is None or occurred_at is None or occurred_at >= changed_at
    if current_key is None or newer:
        if current is not None and current_key not in previous_keys:
            previous.append(current[0])
            previous_keys.append(current[1])
        if key in previous_keys:
            index = previous_keys.index(key)
            del previous[index], previous_keys[index]
        return {
            "phone": phone,
            "phone_key": key,
            "phone_changed_at": occurred_at,
            "previous_phones": previous,
            "previous_phone_keys": previous_keys,
        }
    if key in previous_keys:
        return {}
    return {"previous_phones": [*previous, phone], "previous_phone_keys": [*previous_keys, key]}


def merged_profile(survivor: CustomerDocument, other: CustomerDocument) -> Changes:
    """The ``$set`` that gives ``survivor`` everything ``other`` knew. Pure.

    The survivor's values win; the other's fill blanks, its emails and identities are
    appended, and its phones are kept as previous phones when the survivor has one.
    """
    updates: Changes = {}
    emails = list(survivor.get("emails") or [])
    extra = [email for email in other.get("emails") or [] if email not in emails]
    if extra:
        updates["emails"] = emails + extra
    for name in ("name", "external_id", "address", "date_of_birth", "company_name"):
        if not survivor.get(name) and other.get(name):
            updates[name] = other[name]
    previous = list(survivor.get("previous_phones") or [])
    previous_keys = list(survivor.get("previous_phone_keys") or [])
    phones = list(
        zip(other.get("previous_phones") or [], other.get("previous_phone_keys") or [], strict=True)
    )
    their_phone = current_phone(other)
    if their_phone is not None:
        phone, key = their_phone
        if not survivor.get("phone_key"):
            updates.update(
                phone=phone, phone_key=key, phone_changed_at=other.get("phone_changed_at")
            )
        else:
            phones.append(their_phone)
    for phone, key in phones:
        if key not in previous_keys and key != updates.get("phone_key", survivor.get("phone_key")):
            previous.append(phone)
            previous_keys.append(key)
    if previous_keys != list(survivor.get("previous_phone_keys") or []):
        updates.update(previous_phones=previous, previous_phone_keys=previous_keys)
    identities = list(survivor.get("channel_identities") or [])
    identities += [item for item in other.get("channel_identities") or [] if item not in identities]
    if identities != list(survivor.get("channel_identities") or []):
        updates["channel_identities"] = identities
    tags = clean_tags([*(survivor.get("tags") or []), *(other.get("tags") or [])])
    if tags != list(survivor.get("tags") or []):
        updates["tags"] = tags
    notes = [note for note in (survivor.get("notes"), other.get("notes")) if note]
    if len(notes) == 2 and notes[1] not in notes[0]:
        updates["notes"] = "\n\n".join(notes)
    elif notes and not survivor.get("notes"):
        updates["notes"] = notes[0]
    unmatched = list(survivor.get("unmatched_phones") or [])
    unmatched += [p for p in other.get("unmatched_phones") or [] if p not in unmatched]
    if unmatched != list(survivor.get("unmatched_phones") or []):
        updates["unmatched_phones"] = unmatched
    ours, since = survivor.get("customer_since"), other.get("customer_since")
    if since and (ours is None or since < ours):
        updates["customer_since"] = since
        updates["analytics.customer_since"] = since
    return updates


def phone_edit(profile: CustomerDocument, ids: Identifiers, invalid: tuple[str, ...]) -> Changes:
    """A phone set on the dashboard replaces the current one, which becomes a previous one;
    one that is not a valid number is only kept, as unmatched."""
    if invalid:
        unmatched = list(profile.get("unmatched_phones") or [])
        fresh = [phone for phone in invalid if phone not in unmatched]
        return {"unmatched_phones": unmatched + fresh} if fresh else {}
    if ids.phone is None or ids.phone_key is None:
        current = current_phone(profile)
        if current is None:
            return {}
        previous = list(profile.get("previous_phones") or [])
        previous_keys = list(profile.get("previous_phone_keys") or [])
        if current[1] not in previous_keys:
            previous.append(current[0])
            previous_keys.append(current[1])
        return {
            "phone": None,
            "phone_key": None,
            "previous_phones": previous,
            "previous_phone_keys": previous_keys,
        }
    return phone_changes(profile, ids.phone, ids.phone_key, datetime.now(UTC))


def lost_claim_keys(profile: CustomerDocument, updates: Changes) -> list[str]:
    """The claim keys of the emails and external id an edit removed."""
    lost = []
    if "emails" in updates:
        kept = set(updates["emails"])
        lost += [keys.email_claim(e) for e in profile.get("emails") or [] if e not in kept]
    if "external_id" in updates and (external_id := profile.get("external_id")):
        lost.append(keys.external_claim(external_id))
    return lost


def clean_tags(tags: list[str] | None) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in tags or [] if tag and tag.strip()))
