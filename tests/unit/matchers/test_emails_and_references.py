"""Email normalisation and reference extraction."""

import re

from matchers import address_list, extract_references, normalise_email, parse_mailbox, plus_tag

PATTERN = re.compile(r"\b[A-Z]{3}-\d{6}\b")


def test_email_is_trimmed_lower_cased_and_stripped_of_its_display_name() -> None:
    """`"Ann" <Ann@Example.COM>` is ann@example.com; garbage is None."""
    assert normalise_email('  "Ann Lee" <Ann@Example.COM> ') == "ann@example.com"
    assert normalise_email("ann@example.com") == "ann@example.com"
    assert normalise_email("not an address") is None
    assert normalise_email("ann@localhost") is None
    assert parse_mailbox("Ann Lee <ann@example.com>") == ("Ann Lee", "ann@example.com")


def test_address_lists_keep_order_and_drop_repeats() -> None:
    """To/Cc values give each address once, in order."""
    assert address_list("a@x.io, B <b@x.io>", "A@X.io") == ["a@x.io", "b@x.io"]


def test_references_from_pattern_and_plus_tags() -> None:
    """The tenant pattern finds codes in texts; plus-addresses give their tag."""
    found = extract_references(
        ["About ABC-123456 and ABC-123456", None, "XYZ-000001?"],
        PATTERN,
        ["bookings+QRS-654321@acme.example", "plain@acme.example"],
    )
    assert found == ["ABC-123456", "XYZ-000001", "QRS-654321"]
    assert extract_references(["ABC-123456"], None) == []
    assert plus_tag("bookings+tag@x.io") == "tag"
    assert plus_tag("bookings@x.io") is None
