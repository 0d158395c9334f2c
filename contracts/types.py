"""Field types shared by the contract models."""

import decimal
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be an instant between the years 1 and 9999 in UTC") from None


#: A timezone-aware instant, normalised to UTC; naive datetimes are refused, and so are
#: instants whose UTC time falls outside the years 1 to 9999.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

#: What a 64-bit integer, and so MongoDB, holds.
INT64_MAX = 2**63 - 1

#: A count that only grows (a booking's version): a JSON integer from 0 to 2^63 - 1;
#: booleans, strings and fractions are refused.
Version = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]

#: The decimals MongoDB's Decimal128 holds exactly (34 significant digits, exponents from
#: -6143 to 6144), the context the stored amounts are made in.
_DECIMAL128 = decimal.Context(
    prec=34,
    Emin=-6143,
    Emax=6144,
    clamp=1,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.Inexact],
)


def _storable_amount(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    try:
        return _DECIMAL128.create_decimal(value)
    except (decimal.Overflow, decimal.Inexact):
        raise ValueError("must have at most 34 significant digits and be below 10^6145") from None


#: An amount of money: exact, not negative, and storable as a Decimal128 without rounding.
Amount = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_storable_amount)]

#: A non-empty identifier with no surrounding whitespace.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=True)]

#: A provider name: the ones in ``Provider`` or another service's lower-case identifier.
ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]

#: An ISO 4217 currency code.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters only (no control characters or line breaks)")
    return value


#: (v1.1) An id its producer chose: a UUID, a ULID, ``evt_4411``: 1 to 200 printable
#: characters, kept exactly as given.
ProducerEventId = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)
]
