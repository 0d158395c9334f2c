"""Field types shared by the contract models."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: A timezone-aware instant, normalised to UTC; naive datetimes are refused.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

#: A non-empty identifier with no surrounding whitespace.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=True)]

#: A provider name: the ones in ``Provider`` or another service's lower-case identifier.
ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]

#: An ISO 4217 currency code.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
