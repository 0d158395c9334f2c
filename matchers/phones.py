"""Phone numbers: E.164 normalisation with ``phonenumbers``, and match keys, both cached.

Three countries have two spellings of the same mobile (docs/identity.md):

- Brazil (+55): mobiles gained a ninth digit (``+55 AA 9XXXXXXXX``); the old form has 10
  national digits with the subscriber part starting 6-9 (the mobile range). WhatsApp still
  reports many older accounts in the old form. Landlines (subscriber starting 2-5) never had
  the 9. Canonical: with the 9.
- Mexico (+52): mobiles used to be dialled internationally as ``+52 1`` + 10 digits; since 2019
  the 1 is gone. Canonical: ``+52`` + 10 digits.
- Argentina (+54): mobiles are ``+54 9`` + 10 digits internationally; WhatsApp and other systems
  drop the 9. Canonical: with the 9.

``normalise_phone`` keeps a valid number as written and repairs one that is invalid only
because it is in a legacy spelling; ``phone_match_key`` maps every spelling to the canonical
one, so two numbers are the same phone iff their keys are equal.
"""

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

_MAX_CACHED = 65536

_BR_MOBILE_LEADS = frozenset("6789")


@lru_cache(maxsize=_MAX_CACHED)
def normalise_phone(raw: str, region: str | None = None) -> str | None:
    """The E.164 form of ``raw``, or None when it is not even a possible number.

    ``region`` (ISO 3166 alpha-2) reads numbers written without a country code; ``00`` and
    ``+`` international prefixes, spaces, dashes and brackets are accepted. A valid number is
    returned as written; a number that ``phonenumbers`` rejects only because it is in a legacy
    spelling (Brazil's mobile without the ninth digit, Mexico's ``+52 1``, Argentina's mobile
    without the 9) is returned in its modern, canonical spelling; any other number that is
    not valid but possible (the right length for its country: ``+44 7911 654321``, a range
    newer than the library's metadata) is returned as written.
    """
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    e164 = str(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    if phonenumbers.is_valid_number(number):
        return e164
    candidate = _canonical_spelling(e164)
    if candidate != e164 and _is_valid_e164(candidate):
        return candidate
    # (v1.1) A possible number (the right length for its country) is kept as written: ranges
    # newer than the library's metadata are real numbers people write from. A number only
    # possible for dialling within its area (IS_POSSIBLE_LOCAL_ONLY) is too short to be one.
    if phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE:
        return e164
    return None


def normalise_wa_id(wa_id: str) -> str | None:
    """A WhatsApp ``wa_id`` (international digits, no ``+``) as E.164, or None."""
    digits = wa_id.strip()
    if not digits.isdigit():
        return None
    return normalise_phone("+" + digits)


@lru_cache(maxsize=_MAX_CACHED)
def phone_match_key(e164: str) -> str:
    """The key under which ``e164`` matches: equal keys iff the same phone.

    Brazil's mobiles without the ninth digit, Mexico's ``+521`` mobiles and Argentina's mobiles
    without the 9 get their canonical spelling (see the module docstring); the rewrite is made
    only when the canonical spelling is a valid number. Every other number, possible numbers
    included, is its own key. Pass only numbers ``normalise_phone`` accepted.
    """
    candidate = _canonical_spelling(e164)
    if candidate != e164 and _is_valid_e164(candidate):
        return candidate
    return e164


def _canonical_spelling(e164: str) -> str:
    """The canonical spelling of ``e164`` judged by its digits alone (validity not checked)."""
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit():
        return e164
    # Brazil: 55 + area (2) + 8-digit subscriber in the mobile range -> insert the ninth digit.
    if len(digits) == 12 and digits.startswith("55") and digits[4] in _BR_MOBILE_LEADS:
        return f"+55{digits[2:4]}9{digits[4:]}"
    # Mexico: 52 1 + 10 digits -> 52 + the same 10 digits.
    if len(digits) == 13 and digits.startswith("521"):
        return "+52" + digits[3:]
    # Argentina: 54 + 10 digits -> 54 9 + the same 10 digits. Without the 9 a mobile is
    # digit-for-digit the landline spelling, and phonenumbers reads it as a fixed line: its
    # mobile ranges are its fixed-line ranges with a 9 in front, so it cannot tell them apart.
    # Treating every 10-digit +54 number as +549 + the same digits never merges two people:
    # Argentina allocates each area code + subscriber number to fixed or to mobile service, so
    # a mobile and a landline with identical digits cannot both exist. Where phonenumbers *can*
    # tell - the 9 form is not a valid number, e.g. the 675 range, mobile without any 9 - the
    # callers leave the number unchanged.
    if len(digits) == 12 and digits.startswith("54"):
        return "+549" + digits[2:]
    return e164


def _is_valid_e164(e164: str) -> bool:
    """Whether ``e164`` parses as a valid number."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except NumberParseException:
        return False
