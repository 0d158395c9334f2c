"""``POST /v1/bookings/events``: booking channels that cannot produce to Kafka post here."""

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from pydantic import BaseModel, ConfigDict, ValidationError

from contracts import BookingEvent, booking_event_id
from contracts.bookings import Booking, BookingCustomer, Guest
from contracts.enums import BookingEventType
from contracts.types import ProducerEventId, UtcDatetime, Version
from ingest.auth import tenant_from_bearer
from ingest.correlation import current_correlation_id
from ingest.errors import PayloadTooLarge, Unprocessable
from ingest.webhooks.pipeline import Ingestor
from ingest.webhooks.publisher import RecordsRefused


class BookingEventIn(BaseModel):
    """A BookingEvent as posted: ``event_id`` and ``tenant_id`` may be left out."""

    model_config = ConfigDict(extra="ignore")

    event_id: ProducerEventId | None = None
    tenant_id: str | None = None
    type: BookingEventType
    occurred_at: UtcDatetime
    version: Version
    booking: Booking
    customer: BookingCustomer
    guests: list[Guest] = []


def _field_errors(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors(include_url=False)
    ]


class BookingEvents(Controller):
    path = "/v1/bookings"
    tags = ("bookings",)

    @post("/events", status_code=202)
    async def publish(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> dict[str, str]:
        """Publish a booking event for the API key's tenant; 202 once Kafka acknowledged it."""
        tenant = tenant_from_bearer(request, ingestor.tenants)
        body = await request.body()
        try:
            posted = BookingEventIn.model_validate_json(body)
        except ValidationError as error:
            raise Unprocessable("invalid booking event", details=_field_errors(error)) from error
        if posted.tenant_id is not None and posted.tenant_id != tenant.id:
            raise Unprocessable(
                "tenant_id does not match the API key's tenant",
                details=[{"field": "tenant_id", "message": "must be the API key's tenant"}],
            )
        event_id = posted.event_id or str(
            booking_event_id(tenant.id, posted.booking.booking_id, posted.version)
        )
        try:
            event = BookingEvent.model_validate(
                {**posted.model_dump(), "event_id": event_id, "tenant_id": tenant.id}
            )
        except ValidationError as error:
            raise Unprocessable("invalid booking event", details=_field_errors(error)) from error
        try:
            await ingestor.publish("bookings", [event], current_correlation_id())
        except RecordsRefused as error:
            raise PayloadTooLarge("the booking event is larger than its topic accepts") from error
        return {"event_id": str(event.event_id)}
