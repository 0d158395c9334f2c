"""The messages handler: a poll's events in one call into the message service, each with the
tenant of the tenants file it names."""

from typing import Any

import pytest

from consumers.errors import PoisonMessage
from consumers.messages import MessagesHandler
from contracts import TenantDirectory
from domain.messages import MessageService
from tests.factories import message_event
from tests.unit.consumers.domain_fakes import RecordingMessages, UntouchedStore


def make_handler(*, tenants: TenantDirectory, messages: RecordingMessages) -> MessagesHandler:
    return MessagesHandler(UntouchedStore(), tenants, messages=messages)  # type: ignore[arg-type]


async def test_a_poll_is_recorded_in_one_call_with_each_events_tenant(
    tenants: TenantDirectory,
) -> None:
    """Events of two known tenants go to MessageService.record together, in order, with the
    Tenant each tenant_id names."""
    messages = RecordingMessages()
    events = [
        message_event(provider_message_id="m1", tenant_id="acme"),
        message_event(provider_message_id="m2", tenant_id="globex"),
        message_event(provider_message_id="m3", tenant_id="acme"),
    ]
    await make_handler(tenants=tenants, messages=messages).handle_batch(events)
    [(recorded, by_id)] = messages.calls
    assert recorded == events
    assert by_id == {"acme": tenants.get("acme"), "globex": tenants.get("globex")}
    assert by_id["globex"] is tenants.get("globex")


async def test_one_event_is_recorded_as_a_poll_of_one(tenants: TenantDirectory) -> None:
    """``handle`` records a single event through the same call, with its tenant."""
    messages = RecordingMessages()
    event = message_event(tenant_id="globex")
    await make_handler(tenants=tenants, messages=messages).handle(event)
    assert messages.calls == [([event], {"globex": tenants.get("globex")})]


async def test_an_unknown_tenant_fails_the_whole_poll_before_any_write(
    tenants: TenantDirectory,
) -> None:
    """One event of a tenant missing from the tenants file raises PoisonMessage for the poll and
    nothing is recorded (the runner then handles the poll one by one)."""
    messages = RecordingMessages()
    events = [
        message_event(provider_message_id="m1"),
        message_event(provider_message_id="bad", tenant_id="nobody"),
    ]
    handler = make_handler(tenants=tenants, messages=messages)
    with pytest.raises(PoisonMessage, match="unknown tenant 'nobody'"):
        await handler.handle_batch(events)
    assert messages.calls == []


def test_without_a_service_the_handler_records_through_one_over_its_store(
    tenants: TenantDirectory,
) -> None:
    """``MessagesHandler(store, tenants)`` builds its MessageService over that store."""
    store: Any = UntouchedStore()  # stands for a Store
    handler = MessagesHandler(store, tenants)
    assert isinstance(handler.messages, MessageService)
    assert handler.messages.store is store
