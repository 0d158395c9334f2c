"""Identity resolution: which customer a booking or message belongs to, and by which rule.

The store finds the candidates each rule gives; this module decides, so the decision is pure
and the same for bookings and messages.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from matchers import keys


class Rule(StrEnum):
    """How a customer was found; recorded as ``matched_by``."""

    CHANNEL_IDENTITY = "channel_identity"
    REFERENCE = "reference"
    EXTERNAL_ID = "external_id"
    EMAIL = "email"
    PHONE = "phone"
    PREVIOUS_PHONE = "previous_phone"


#: A booking finds its customer by external id, email, phone, previous phone, channel identity.
BOOKING_RULES = (
    Rule.EXTERNAL_ID,
    Rule.EMAIL,
    Rule.PHONE,
    Rule.PREVIOUS_PHONE,
    Rule.CHANNEL_IDENTITY,
)

#: A message: linked channel identity, reference, email, current phone, previous phone.
MESSAGE_RULES = (
    Rule.CHANNEL_IDENTITY,
    Rule.REFERENCE,
    Rule.EMAIL,
    Rule.PHONE,
    Rule.PREVIOUS_PHONE,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A customer a rule found, with what decides between candidates."""

    customer_id: str
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """The customer found, the rule that found it, or the candidates when ambiguous."""

    customer_id: str | None = None
    rule: Rule | None = None
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.customer_id is None and len(self.candidates) > 1


def resolve(
    found: Mapping[Rule, Sequence[Candidate]],
    order: Sequence[Rule],
    *,
    external_id: str | None = None,
) -> Resolution:
    """The first rule in ``order`` that finds anyone decides.

    One customer: a match. Several: ambiguous, and no later rule is tried. A customer with a
    different external id than ``external_id`` is never a candidate: two external ids never
    merge automatically.
    """
    for rule in order:
        seen: dict[str, Candidate] = {}
        for candidate in found.get(rule, ()):
            if external_id and candidate.external_id and candidate.external_id != external_id:
                continue
            seen.setdefault(candidate.customer_id, candidate)
        if len(seen) == 1:
            return Resolution(customer_id=next(iter(seen)), rule=rule)
        if seen:
            return Resolution(rule=rule, candidates=tuple(seen))
    return Resolution()


@dataclass(frozen=True, slots=True)
class Identifiers:
    """A person's normalised identifiers, as a booking or a message gives them."""

    external_id: str | None = None
    emails: tuple[str, ...] = ()
    phone: str | None = None
    phone_key: str | None = None
    channel_identities: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.external_id or self.emails or self.phone_key or self.channel_identities)

    def claim_keys(self) -> list[str]:
        """The keys under which a new customer with these identifiers claims them.

        An external id is the whole identity: customers with different external ids may
        share an email or phone and must never converge, so it is claimed alone.
        """
        if self.external_id:
            return [keys.external_claim(self.external_id)]
        claims = [keys.email_claim(email) for email in self.emails]
        if self.phone_key:
            claims.append(keys.phone_claim(self.phone_key))
        claims += [keys.channel_claim(channel, user) for channel, user in self.channel_identities]
        return claims
