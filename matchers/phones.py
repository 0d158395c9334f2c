"""Phone numbers: E.164 normalisation with ``phonenumbers``, cached."""

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

_MAX_CACHED = 65536


@lru_cache(maxsize=_MAX_CACHED)
def normalise_phone(raw: str, region: str | None = None) -> str | None:
    """The E.164 form of ``raw``, or None when it is not a valid number.

    ``region`` (ISO 3166 alpha-2) reads numbers written without a country code; ``00`` and
    ``+`` international prefixes, spaces, dashes and brackets are accepted.
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
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def normalise_wa_id(wa_id: str) -> str | None:
    """A WhatsApp ``wa_id`` (international digits, no ``+``) as E.164, or None."""
    digits = wa_id.strip()
    if not digits.isdigit():
        return None
    return normalise_phone("+" + digits)
