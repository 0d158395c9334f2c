"""BookingEvent: what booking channels publish about a booking and its customer."""

from datetime import date
from typing import ClassVar

from pydantic import Field

from contracts.base import LenientContractModel
from contracts.changes import ConsentStatus, ConsentTopic
from contracts.enums import BookingEventType, BookingStatus, Channel
from contracts.types import Amount, CurrencyCode, Identifier, ProducerEventId, UtcDatetime, Version


class Booking(LenientContractModel):
    booking_id: Identifier
    confirmation_code: Identifier
    status: BookingStatus
    activity_name: str
    starts_at: UtcDatetime
    created_at: UtcDatetime
    grand_total: Amount = Field(description='decimal string, e.g. "120.50"; not negative')
    currency: CurrencyCode
    source: Identifier = Field(
        description="online, dashboard, whatsapp, instagram, messenger, sms, email or custom"
    )
    branch_id: str | None = None


class Address(LenientContractModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class ChannelIdentity(LenientContractModel):
    """How a messaging channel knows the customer (an IGSID, a PSID, a wa_id...)."""

    channel: Channel
    channel_user_id: Identifier


class BookingConsent(LenientContractModel):
    """(v1.1) A consent choice made on the booking form; without a channel, for every one."""

    topic: ConsentTopic
    status: ConsentStatus
    channel: Channel | None = None
    occurred_at: UtcDatetime


class BookingCustomer(LenientContractModel):
    name: str
    emails: list[str] = Field(default_factory=list)
    phone: str | None = None
    phone_region: str | None = Field(
        default=None, description="ISO 3166 region for a phone written without country code"
    )
    external_id: str | None = None
    address: Address | None = None
    date_of_birth: date | None = None
    company_name: str | None = None
    channel_identities: list[ChannelIdentity] = Field(default_factory=list)
    consents: list[BookingConsent] = Field(default_factory=list)


class Guest(LenientContractModel):
    name: str
    email: str | None = None
    phone: str | None = None
    demographic: str | None = Field(default=None, description="e.g. adult, child, senior")


#: Guests one booking may name: each is matched or created as a customer (about ten database
#: round trips), and a booking holds its partition until all are.
MAX_GUESTS = 200


class BookingEvent(LenientContractModel):
    """A change to a booking. ``version`` increases per booking; stale versions change nothing."""

    SCHEMA: ClassVar[str] = "booking.event/1"

    event_id: ProducerEventId
    tenant_id: Identifier
    type: BookingEventType
    occurred_at: UtcDatetime
    version: Version = Field(description="an integer from 0 to 2^63 - 1")
    booking: Booking
    customer: BookingCustomer
    guests: list[Guest] = Field(
        default_factory=list,
        max_length=MAX_GUESTS,
        description=f"at most {MAX_GUESTS}: each is matched or created as a customer",
    )
