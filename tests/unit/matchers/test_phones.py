"""Phone normalisation to E.164 and phone match keys."""

import pytest

from matchers import normalise_phone, normalise_wa_id, phone_match_key


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


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(415) 867-5309", "US", "+14158675309"),
        ("+1-415-867-5309", None, "+14158675309"),
        ("030 123456", "DE", "+4930123456"),
        ("0049 (30) 1234567", None, "+49301234567"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("+33 (0)6 12 34 56 78", None, "+33612345678"),
        ("(21) 2345-6789", "BR", "+552123456789"),
        ("0055 11 98765-4321", None, "+5511987654321"),
        ("55 1234 5678", "MX", "+525512345678"),
        ("+52 (55) 1234-5678", None, "+525512345678"),
        ("011 15-1234-5678", "AR", "+5491112345678"),
        ("+54 9 11 1234-5678", None, "+5491112345678"),
        ("098765 43210", "IN", "+919876543210"),
        ("(02) 9876 5432", "AU", "+61298765432"),
        ("0412 345 678", "AU", "+61412345678"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("+34 91 123 45 67", None, "+34911234567"),
        ("06 1234 5678", "IT", "+390612345678"),
        ("+39 347 123 4567", None, "+393471234567"),
        ("0802 123 4567", "NG", "+2348021234567"),
        ("+234 (0) 802 123 4567", None, "+2348021234567"),
        ("090-1234-5678", "JP", "+819012345678"),
    ],
)
def test_numbers_across_countries_become_e164(raw: str, region: str | None, expected: str) -> None:
    """National (with a region), international, 00 and punctuated forms in 13 countries."""
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+52 1 55 1234 5678", None, "+525512345678"),
        ("+5215512345678", None, "+525512345678"),
        ("0052 1 (55) 1234-5678", None, "+525512345678"),
        ("1 55 1234 5678", "MX", "+525512345678"),
        ("+55 11 8765-4321", None, "+5511987654321"),
        ("+55 21 6123-4567", None, "+5521961234567"),
        ("(11) 8765-4321", "BR", "+5511987654321"),
    ],
)
def test_legacy_spellings_invalid_as_written_become_modern(
    raw: str, region: str | None, expected: str
) -> None:
    """A number phonenumbers rejects only for its legacy spelling returns the modern E.164."""
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+54 11 4123-4567", "+541141234567"),
        ("+54 9 11 4123-4567", "+5491141234567"),
        ("+55 11 7123-4567", "+551171234567"),
        ("+55 11 97123-4567", "+5511971234567"),
        ("+55 21 2345-6789", "+552123456789"),
        ("+52 55 1234 5678", "+525512345678"),
    ],
)
def test_valid_numbers_are_kept_as_written(raw: str, expected: str) -> None:
    """A number phonenumbers accepts is returned as written, even when another spelling exists."""
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A UK mobile range newer than the metadata (the issue's own example).
        ("+44 7911 654321", "+447911654321"),
        # Brazil: a landline subscriber starting 1 has no legacy rewrite; kept as written.
        ("+55 11 1234-5678", "+551112345678"),
        # Mexico: the old +52 1 prefix is rewritten only when the result is valid.
        ("+52 1 55 1234 567", "+521551234567"),
        # Argentina: the 9 is not dropped or added on a number that is not valid.
        ("+54 9 15 1234-5678", "+5491512345678"),
    ],
)
def test_possible_numbers_are_kept_as_written(raw: str, expected: str) -> None:
    """(v1.1) A number the right length for its country is stored and matched in E.164
    even when phonenumbers does not find it valid (ranges newer than its metadata); no
    legacy rewrite applies, because the variant keys need a valid number."""
    assert normalise_phone(raw) == expected
    assert phone_match_key(expected) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+52 1 55 1234 56789", None),  # too long
        ("+44 12", None),  # too short
        ("12345", "GB"),  # possible only when dialled locally
        ("not a phone", "GB"),
    ],
)
def test_numbers_that_are_not_even_possible_are_none(raw: str, region: str | None) -> None:
    assert normalise_phone(raw, region) is None


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        ("5215512345678", "+525512345678"),
        ("551187654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("541112345678", "+541112345678"),
        ("5491112345678", "+5491112345678"),
    ],
)
def test_wa_ids_in_legacy_spellings_are_read(wa_id: str, expected: str) -> None:
    """WhatsApp's legacy Mexican and Brazilian wa_ids normalise; Argentine ones stay as sent."""
    assert normalise_wa_id(wa_id) == expected


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        ("+551187654321", "+5511987654321", "+5511987654321"),
        ("+552161234567", "+5521961234567", "+5521961234567"),
        ("+551171234567", "+5511971234567", "+5511971234567"),
        ("+5215512345678", "+525512345678", "+525512345678"),
        ("+541112345678", "+5491112345678", "+5491112345678"),
        ("+543515123456", "+5493515123456", "+5493515123456"),
    ],
)
def test_equivalent_spellings_share_a_key(first: str, second: str, key: str) -> None:
    """Brazil without/with the ninth digit, Mexico +521/+52, Argentina +54/+549: one key."""
    assert phone_match_key(first) == phone_match_key(second) == key


@pytest.mark.parametrize(
    "e164",
    [
        "+552123456789",
        "+551132345678",
        "+546751234567",
        "+447911123456",
        "+14158675309",
        "+390612345678",
        "+2348021234567",
    ],
)
def test_numbers_without_another_spelling_are_their_own_key(e164: str) -> None:
    """Brazilian landlines, Argentina's 9-less mobile range and other countries key as given."""
    assert phone_match_key(e164) == e164


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("+5511987654321", "+5511987654320"),
        ("+551187654321", "+5511987654320"),
        ("+5511987654321", "+5521987654321"),
        ("+552123456789", "+5521923456789"),
        ("+525512345678", "+525512345679"),
        ("+5215512345678", "+525512345679"),
        ("+5491112345678", "+5491112345679"),
        ("+541112345678", "+5491112345679"),
        ("+525512345678", "+545512345678"),
        ("+447911123456", "+447911123457"),
        ("+14158675309", "+447911123456"),
    ],
)
def test_different_phones_have_different_keys(first: str, second: str) -> None:
    """Numbers differing in a digit, an area code or a country never share a key."""
    assert phone_match_key(first) != phone_match_key(second)


@pytest.mark.parametrize(
    "e164",
    ["+551187654321", "+5215512345678", "+541112345678", "+5511987654321", "+447911123456"],
)
def test_match_key_is_idempotent(e164: str) -> None:
    """A key is its own key, so keys can be stored and compared with fresh keys."""
    key = phone_match_key(e164)
    assert phone_match_key(key) == key


@pytest.mark.parametrize(
    ("raw", "legacy_e164"),
    [
        ("+52 1 55 1234 5678", "+5215512345678"),
        ("+55 11 8765-4321", "+551187654321"),
        ("+54 11 4123-4567", "+541141234567"),
    ],
)
def test_normalising_a_legacy_spelling_keeps_its_key(raw: str, legacy_e164: str) -> None:
    """Repairing a legacy spelling yields the same phone: its key equals the legacy one's."""
    e164 = normalise_phone(raw)
    assert e164 is not None
    assert phone_match_key(e164) == phone_match_key(legacy_e164)


def test_normalise_phone_is_cached() -> None:
    """The same raw number twice is served from the cache as the identical object."""
    before = normalise_phone.cache_info().hits
    first = normalise_phone("+44 7911 123499", None)
    second = normalise_phone("+44 7911 123499", None)
    assert first is second
    assert normalise_phone.cache_info().hits > before


def test_phone_match_key_is_cached() -> None:
    """The same E.164 twice is served from the cache as the identical object."""
    before = phone_match_key.cache_info().hits
    first = phone_match_key("+551187654399")
    second = phone_match_key("+551187654399")
    assert first is second
    assert phone_match_key.cache_info().hits > before
