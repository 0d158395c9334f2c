"""Customer profiles, their bookings and communications, as the customer pages read them."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from bson import Decimal128
from pydantic import Field

from contracts import Address, Channel, ChannelIdentity, Direction
from domain.consents import ConsentChoice, ConsentView
from domain.documents import BookingDocument, CustomerDocument, MessageDocument, MoneyDocument
from ingest.api.schemas.common import ApiModel, RequestModel, utc

EMAIL_PATTERN = r"^\s*[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+\s*$"
EmailAddress = Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)]
ConsentState = Literal["given", "revoked", "not_captured"]
CustomerSort = Literal["-created_at", "created_at", "name", "-total_bookings", "-last_booking_at"]


class Money(ApiModel):
    currency: str
    amount: str = Field(description="exact decimal, as a string", examples=["120.50"])


class Analytics(ApiModel):
    total_bookings: int
    total_spent: list[Money]
    lifetime_value: list[Money]
    last_booking_at: datetime | None
    last_contact_at: datetime | None
    customer_since: datetime | None

    @classmethod
    def from_document(cls, document: CustomerDocument) -> "Analytics":
        analytics = document["analytics"]
        return cls(
            total_bookings=analytics["total_bookings"],
            total_spent=_money(analytics["total_spent"]),
            lifetime_value=_money(analytics["lifetime_value"]),
            last_booking_at=utc(analytics["last_booking_at"]),
            last_contact_at=utc(analytics["last_contact_at"]),
            customer_since=utc(analytics["customer_since"] or document["customer_since"]),
        )


class KnownCustomer(ApiModel):
    customer_id: str | None
    name: str | None
    email: str | None
    phone: str | None


class Customer(ApiModel):
    id: str
    name: str | None
    emails: list[str] = Field(description="primary first")
    phone: str | None = Field(description="E.164")
    previous_phones: list[str]
    unmatched_phones: list[str] = Field(
        default_factory=list, description="phones given that are not valid numbers"
    )
    address: Address | None
    date_of_birth: date | None
    company_name: str | None
    source: str
    external_id: str | None
    tags: list[str]
    notes: str | None
    channel_identities: list[ChannelIdentity]
    created_at: datetime
    updated_at: datetime | None = None
    analytics: Analytics
    known_customers: list[KnownCustomer]
    consent: dict[str, dict[str, ConsentState]] | None = Field(
        default=None,
        description="(v1.1) {channel: {topic: status}}; on the customer detail only",
    )

    @classmethod
    def from_document(
        cls, document: CustomerDocument, consent: ConsentView | None = None
    ) -> "Customer":
        return cls(
            id=document["_id"],
            name=document.get("name"),
            emails=document.get("emails") or [],
            phone=document.get("phone"),
            previous_phones=document.get("previous_phones") or [],
            unmatched_phones=document.get("unmatched_phones") or [],
            address=Address.model_validate(document["address"])
            if document.get("address")
            else None,
            date_of_birth=document.get("date_of_birth"),
            company_name=document.get("company_name"),
            source=document.get("source") or "unknown",
            external_id=document.get("external_id"),
            tags=document.get("tags") or [],
            notes=document.get("notes"),
            channel_identities=[
                ChannelIdentity.model_validate(item)
                for item in document.get("channel_identities") or []
            ],
            created_at=utc(document["created_at"]),
            updated_at=utc(document.get("updated_at")),
            analytics=Analytics.from_document(document),
            known_customers=[
                KnownCustomer.model_validate(
                    {key: item.get(key) for key in ("customer_id", "name", "email", "phone")}
                )
                for item in document.get("known_customers") or []
            ],
            consent=consent.summary() if consent else None,
        )


class ConsentItem(ApiModel):
    channel: Channel
    topic: Literal["marketing", "all"]
    status: ConsentState
    occurred_at: datetime | None
    source: str | None = Field(
        description="whatsapp_user_preferences, twilio_opt_out_type, sms_keyword, send_error, "
        "booking_form; null when not captured"
    )
    business_account: str | None = Field(
        default=None, description="the business sender the choice was made to, when known"
    )

    @classmethod
    def from_choice(cls, item: ConsentChoice | tuple[str, str]) -> "ConsentItem":
        if isinstance(item, ConsentChoice):
            return cls(
                channel=Channel(item.channel),
                topic=item.topic,
                status=item.status,
                occurred_at=utc(item.occurred_at),
                source=item.source,
                business_account=item.business_account or None,
            )
        channel, topic = item
        return cls(
            channel=Channel(channel),
            topic=topic,
            status="not_captured",
            occurred_at=None,
            source=None,
        )


class CustomerConsent(ApiModel):
    items: list[ConsentItem] = Field(description="the latest choice per channel and topic")
    history: list[ConsentItem] = Field(description="every choice, oldest first")

    @classmethod
    def from_view(cls, view: ConsentView) -> "CustomerConsent":
        return cls(
            items=[ConsentItem.from_choice(item) for item in view.items],
            history=[ConsentItem.from_choice(item) for item in view.history],
        )


class CustomerPage(ApiModel):
    items: list[Customer]
    page: int
    per_page: int
    total: int


class CustomerIn(RequestModel):
    """A person added on the dashboard (``source`` is ``dashboard``)."""

    name: str = Field(min_length=1, max_length=300)
    emails: list[EmailAddress] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    address: Address | None = None
    date_of_birth: date | None = None
    company_name: str | None = Field(default=None, max_length=300)
    tags: list[str] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, max_length=10_000)
    channel_identities: list[ChannelIdentity] = Field(default_factory=list, max_length=20)


class CustomerPatch(RequestModel):
    """Only the fields present change; ``null`` clears one. A replaced phone moves to
    ``previous_phones``; ``emails`` replaces the list (the first is primary)."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    emails: list[EmailAddress] | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    address: Address | None = None
    date_of_birth: date | None = None
    company_name: str | None = Field(default=None, max_length=300)
    tags: list[str] | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, max_length=10_000)
    channel_identities: list[ChannelIdentity] | None = Field(default=None, max_length=20)


class MergeIn(RequestModel):
    other_id: str = Field(min_length=1, max_length=64, description="the customer merged away")


class Booking(ApiModel):
    booking_id: str
    confirmation_code: str | None
    status: str
    activity_name: str | None
    starts_at: datetime | None
    created_at: datetime | None
    grand_total: Money
    source: str | None
    matched_by: str | None = None

    @classmethod
    def from_document(cls, document: BookingDocument) -> "Booking":
        return cls(
            booking_id=document["booking_id"],
            confirmation_code=document.get("confirmation_code"),
            status=document["status"],
            activity_name=document.get("activity_name"),
            starts_at=utc(document.get("starts_at")),
            created_at=utc(document.get("created_at")),
            grand_total=Money(
                currency=document["currency"], amount=_amount(document["grand_total"])
            ),
            source=document.get("source"),
            matched_by=document.get("matched_by"),
        )


class GuestBooking(ApiModel):
    booking_id: str
    confirmation_code: str | None
    date: datetime | None = Field(description="when the activity starts")
    activity_name: str | None
    status: str
    demographic: str | None
    booked_by: str | None = Field(description="the primary booker's customer id")

    @classmethod
    def from_document(cls, document: BookingDocument, customer_id: str) -> "GuestBooking":
        guest = next((g for g in document["guests"] if g["customer_id"] == customer_id), None)
        return cls(
            booking_id=document["booking_id"],
            confirmation_code=document.get("confirmation_code"),
            date=utc(document.get("starts_at")),
            activity_name=document.get("activity_name"),
            status=document["status"],
            demographic=guest["demographic"] if guest else None,
            booked_by=document.get("customer_id"),
        )


class BookingPage(ApiModel):
    items: list[Booking]
    page: int
    per_page: int
    total: int


class GuestBookingPage(ApiModel):
    items: list[GuestBooking]
    page: int
    per_page: int
    total: int


class Communication(ApiModel):
    message_id: str
    occurred_at: datetime
    channel: Channel
    direction: Direction
    counterpart: str | None = Field(description="the customer's address on that channel")
    preview: str
    thread_id: str
    matched_by: str | None

    @classmethod
    def from_document(cls, document: MessageDocument) -> "Communication":
        return cls(
            message_id=document["_id"],
            occurred_at=utc(document["occurred_at"]),
            channel=document["channel"],
            direction=document["direction"],
            counterpart=document.get("counterpart"),
            preview=document.get("preview") or "",
            thread_id=document["thread_id"],
            matched_by=document.get("matched_by"),
        )


class CommunicationPage(ApiModel):
    items: list[Communication]
    page: int
    per_page: int
    total: int


def _amount(value: Any) -> str:
    return str(value.to_decimal() if isinstance(value, Decimal128) else Decimal(str(value)))


def _money(rows: list[MoneyDocument]) -> list[Money]:
    return [Money(currency=row["currency"], amount=_amount(row["amount"])) for row in rows]


#: The request bodies, by name in the OpenAPI document.
REQUEST_MODELS = (CustomerIn, CustomerPatch, MergeIn)
