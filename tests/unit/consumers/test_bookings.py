"""The bookings handler: one call into the booking service, for a tenant of the tenants file."""

from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.errors import PoisonMessage
from contracts import TenantDirectory
from domain.bookings import BookingService
from tests.factories import booking_event
from tests.unit.consumers.domain_fakes import RecordingBookings, UntouchedStore


def make_handler(*, tenants: TenantDirectory, bookings: RecordingBookings) -> BookingsHandler:
    return BookingsHandler(UntouchedStore(), tenants, bookings=bookings)  # type: ignore[arg-type]


async def test_a_known_tenants_booking_is_recorded_for_that_tenant(
    tenants: TenantDirectory,
) -> None:
    """The event goes to BookingService.record once, with the Tenant its tenant_id names."""
    bookings = RecordingBookings()
    event = booking_event(tenant_id="globex")
    await make_handler(tenants=tenants, bookings=bookings).handle(event)
    [(tenant, recorded)] = bookings.calls
    assert tenant is tenants.get("globex")
    assert recorded is event


async def test_an_unknown_tenants_booking_is_poison_before_any_write(
    tenants: TenantDirectory,
) -> None:
    """A tenant missing from the tenants file raises PoisonMessage; nothing is recorded."""
    bookings = RecordingBookings()
    handler = make_handler(tenants=tenants, bookings=bookings)
    with pytest.raises(PoisonMessage, match="unknown tenant 'nobody'"):
        await handler.handle(booking_event(tenant_id="nobody"))
    assert bookings.calls == []


def test_without_a_service_the_handler_records_through_one_over_its_store(
    tenants: TenantDirectory,
) -> None:
    """``BookingsHandler(store, tenants)`` builds its BookingService over that store."""
    store: Any = UntouchedStore()  # stands for a Store
    handler = BookingsHandler(store, tenants)
    assert isinstance(handler.bookings, BookingService)
    assert handler.bookings.store is store
