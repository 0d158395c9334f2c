"""Phone normalisation to E.164."""

import pytest

from matchers import normalise_phone, normalise_wa_id


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 7911 123456", None, "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("0044 7911-123456", None, "+447911123456"),
        ("+1 (415) 867-5309", None, "+14158675309"),
        ("415-867-5309", "US", "+14158675309"),
        ("+49 1512 3456789", None, "+4915123456789"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+55 11 91234-5678", None, "+5511912345678"),
        ("+91 98765 43210", None, "+919876543210"),
        ("+61 412 345 678", None, "+61412345678"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str | None, expected: str) -> None:
    """International, national (with the tenant's region), 00-prefixed and punctuated forms."""
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "12345", "not a phone", "+999 123", "07911 123456"])
def test_invalid_or_regionless_numbers_are_none(raw: str) -> None:
    """Invalid numbers, and national numbers without a region, are never normalised."""
    assert normalise_phone(raw) is None


def test_wa_id_is_read_as_international_digits() -> None:
    """A WhatsApp wa_id has no plus; it is read as +digits, and non-digits are refused."""
    assert normalise_wa_id("16505551234") == "+16505551234"
    assert normalise_wa_id("") is None
    assert normalise_wa_id("user.93737") is None
