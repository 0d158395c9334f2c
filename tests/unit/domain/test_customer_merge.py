"""merged_profile: what a survivor takes from the customer merged into it. Pure."""

from datetime import UTC, datetime
from typing import Any, cast

from domain.documents import CustomerDocument
from domain.profiles import merged_profile

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 3, 1, tzinfo=UTC)


def profile(**fields: Any) -> CustomerDocument:
    """A stored profile with only the fields a test gives (merged_profile reads no others)."""
    base = {"_id": "x", "emails": [], "tags": [], "channel_identities": [], **fields}
    return cast("CustomerDocument", base)


def test_survivor_values_win_and_blanks_are_filled() -> None:
    """The survivor keeps its name; its blank company comes from the other."""
    changes = merged_profile(
        profile(name="Ann", company_name=None), profile(name="A. Lee", company_name="Acme")
    )
    assert "name" not in changes
    assert changes["company_name"] == "Acme"


def test_emails_identities_and_tags_are_appended_once() -> None:
    """Emails keep the survivor's primary first; shared values are not repeated."""
    changes = merged_profile(
        profile(
            emails=["a@x.com"],
            tags=["vip"],
            channel_identities=[{"channel": "sms", "channel_user_id": "1"}],
        ),
        profile(
            emails=["b@x.com", "a@x.com"],
            tags=["vip", "kids"],
            channel_identities=[{"channel": "instagram", "channel_user_id": "9"}],
        ),
    )
    assert changes["emails"] == ["a@x.com", "b@x.com"]
    assert changes["tags"] == ["vip", "kids"]
    assert [i["channel"] for i in changes["channel_identities"]] == ["sms", "instagram"]


def test_other_phone_becomes_previous_when_survivor_has_one() -> None:
    """Both phones are kept: the survivor's stays current, the other's is a previous one."""
    changes = merged_profile(
        profile(phone="+447911100001", phone_key="k1"),
        profile(
            phone="+447911100002",
            phone_key="k2",
            previous_phones=["+447911100003"],
            previous_phone_keys=["k3"],
        ),
    )
    assert "phone" not in changes
    assert changes["previous_phones"] == ["+447911100003", "+447911100002"]
    assert changes["previous_phone_keys"] == ["k3", "k2"]


def test_other_phone_becomes_current_when_survivor_has_none() -> None:
    """A survivor without a phone takes the other's as current."""
    changes = merged_profile(profile(), profile(phone="+447911100002", phone_key="k2"))
    assert changes["phone"] == "+447911100002"
    assert "previous_phones" not in changes


def test_earliest_customer_since_and_notes_joined() -> None:
    """The person has been a customer since the earlier of the two; both notes are kept."""
    changes = merged_profile(
        profile(customer_since=T1, notes="likes kayaks"),
        profile(customer_since=T0, notes="allergic"),
    )
    assert changes["customer_since"] == T0
    assert changes["analytics.customer_since"] == T0
    assert changes["notes"] == "likes kayaks\n\nallergic"


def test_identical_profiles_change_nothing() -> None:
    """Merging a duplicate that adds nothing is a no-op on the survivor."""
    same = profile(name="Ann", emails=["a@x.com"], phone="+1", phone_key="k1")
    assert merged_profile(same, same.copy()) == {}
