"""The statuses handler: a receipt of a tenant of the tenants file, applied by the status
service in one call."""

from typing import Any

import pytest

from consumers.errors import PoisonMessage
from consumers.statuses import StatusesHandler
from contracts import TenantDirectory
from domain.statuses import StatusService
from tests.factories import status_event
from tests.unit.consumers.domain_fakes import RecordingStatuses, UntouchedStore


def make_handler(*, tenants: TenantDirectory, statuses: RecordingStatuses) -> StatusesHandler:
    return StatusesHandler(UntouchedStore(), tenants, statuses=statuses)  # type: ignore[arg-type]


async def test_a_known_tenants_receipt_is_applied(tenants: TenantDirectory) -> None:
    """The receipt goes to StatusService.apply once, as it came."""
    statuses = RecordingStatuses()
    event = status_event(tenant_id="globex", status="read")
    await make_handler(tenants=tenants, statuses=statuses).handle(event)
    assert statuses.calls == [event]
    assert statuses.calls[0] is event


async def test_an_unknown_tenants_receipt_is_poison_before_any_write(
    tenants: TenantDirectory,
) -> None:
    """A tenant missing from the tenants file raises PoisonMessage; nothing is applied."""
    statuses = RecordingStatuses()
    handler = make_handler(tenants=tenants, statuses=statuses)
    with pytest.raises(PoisonMessage, match="unknown tenant 'nobody'"):
        await handler.handle(status_event(tenant_id="nobody"))
    assert statuses.calls == []


def test_without_a_service_the_handler_applies_through_one_over_its_store(
    tenants: TenantDirectory,
) -> None:
    """``StatusesHandler(store, tenants)`` builds its StatusService over that store."""
    store: Any = UntouchedStore()  # stands for a Store
    handler = StatusesHandler(store, tenants)
    assert isinstance(handler.statuses, StatusService)
    assert handler.statuses.store is store
