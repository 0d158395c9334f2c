"""How booking details change a stored profile."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from domain.documents import CustomerDocument
from domain.profiles import ProfileDetails, booking_changes, identifiers_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def details(
    *,
    emails: Sequence[str] = (),
    phone: str | None = None,
    at: datetime = T0,
    name: str | None = None,
    external_id: str | None = None,
) -> ProfileDetails:
    ids, invalid = identifiers_of(
        external_id=external_id,
        emails=list(emails),
        phone=phone,
        region="GB",
        channel_identities=[],
    )
    return ProfileDetails(identifiers=ids, name=name, occurred_at=at, invalid_phones=invalid)


def profile(**fields: Any) -> CustomerDocument:
    """A stored profile with only the fields booking_changes reads."""
    return cast("CustomerDocument", {"emails": [], "phone": None, "previous_phones": [], **fields})


def test_new_emails_are_appended_and_the_first_stays_primary() -> None:
    """Known addresses are not repeated; new ones go last."""
    changes = booking_changes(profile(emails=["a@x.io"]), details(emails=["B@x.io", "a@x.io"]))
    assert changes["emails"] == ["a@x.io", "b@x.io"]


def test_a_newer_phone_becomes_current_and_the_old_one_previous() -> None:
    """A later booking's phone replaces the current one, which moves to previous_phones."""
    first = booking_changes(profile(), details(phone="07911 123456", at=T0))
    assert first["phone"] == "+447911123456"
    current = profile(**first)
    second = booking_changes(current, details(phone="+447912345678", at=T0 + timedelta(days=1)))
    assert second["phone"] == "+447912345678"
    assert second["previous_phones"] == ["+447911123456"]


def test_an_older_phone_only_joins_previous_phones() -> None:
    """A booking older than the last phone change cannot bring its phone back."""
    current = profile(**booking_changes(profile(), details(phone="+447912345678", at=T0)))
    older = booking_changes(current, details(phone="+447911123456", at=T0 - timedelta(days=3)))
    assert "phone" not in older
    assert older["previous_phones"] == ["+447911123456"]


def test_blank_fields_are_filled_but_never_overwritten() -> None:
    """Name and external id are set only when the profile has none."""
    assert booking_changes(profile(), details(name="Ann", external_id="crm-1")) == {
        "name": "Ann",
        "external_id": "crm-1",
    }
    assert booking_changes(profile(name="Ann", external_id="crm-1"), details(name="Bob")) == {}


def test_invalid_phones_are_kept_but_not_matched() -> None:
    """An invalid number is remembered as given and gives no match key."""
    given = details(phone="12345")
    assert given.identifiers.phone_key is None
    assert booking_changes(profile(), given) == {"unmatched_phones": ["12345"]}
