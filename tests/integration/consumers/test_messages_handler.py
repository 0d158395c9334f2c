"""Messages and statuses into threads against the real database."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from consumers.statuses import StatusesHandler
from contracts import TenantDirectory
from domain.store.database import Store
from tests.factories import booking_event, confirmation_code, message_event, status_event

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
def messages(store: Store, tenants: TenantDirectory) -> MessagesHandler:
    return MessagesHandler(store, tenants)


@pytest.fixture
def statuses(store: Store, tenants: TenantDirectory) -> StatusesHandler:
    return StatusesHandler(store, tenants)


async def threads(store: Store) -> list[dict[str, Any]]:
    return await store.database["threads"].find({}).to_list()


async def stored(store: Store, provider_message_id: str) -> dict[str, Any]:
    found = await store.database["messages"].find_one({"provider_message_id": provider_message_id})
    assert found is not None
    return found


async def test_concurrent_first_messages_make_one_thread(
    store: Store, tenants: TenantDirectory
) -> None:
    """Ten first messages of one participant handled at once by two consumers: one thread."""
    first, second = MessagesHandler(store, tenants), MessagesHandler(store, tenants)
    events = [
        message_event(provider_message_id=f"wamid.{i}", occurred_at=T0 + timedelta(seconds=i))
        for i in range(10)
    ]
    await asyncio.gather(
        *(first.handle(e) for e in events[::2]), *(second.handle(e) for e in events[1::2])
    )
    [thread] = await threads(store)
    assert thread["message_count"] == 10


async def test_repeated_event_is_stored_once(messages: MessagesHandler, store: Store) -> None:
    """The same event three times, alone and in a batch: one message."""
    event = message_event()
    await messages.handle(event)
    await messages.handle_batch([event, event])
    assert await store.database["messages"].count_documents({}) == 1
    [thread] = await threads(store)
    assert thread["message_count"] == 1
    assert thread["unread_count"] == 1


async def test_an_unsend_in_the_same_poll_as_its_message_deletes_it(
    messages: MessagesHandler, store: Store
) -> None:
    """Instagram's unsend arriving in one poll with the message it removes: deleted."""
    sent = message_event(channel="instagram", provider_message_id="mid.1", phone=None)
    unsend = sent.model_copy(
        update={
            "event_id": uuid.uuid5(uuid.NAMESPACE_URL, "mid.1#deleted"),
            "content": sent.content.model_copy(update={"deleted": True}),
        }
    )
    await messages.handle_batch([sent, unsend])
    [stored] = await store.database["messages"].find({}).to_list()
    assert stored["deleted"] is True


async def test_late_older_message_takes_its_place(messages: MessagesHandler, store: Store) -> None:
    """An older message arriving last does not become the thread's last message."""
    await messages.handle(message_event(provider_message_id="new", text="newer", occurred_at=T0))
    await messages.handle(
        message_event(provider_message_id="old", text="older", occurred_at=T0 - timedelta(hours=1))
    )
    [thread] = await threads(store)
    assert thread["last_message"]["preview"] == "newer"
    assert thread["last_message_at"] == T0
    assert thread["message_count"] == 2


async def test_message_before_booking_is_linked_when_the_booking_arrives(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """An unknown sender's thread stays unlinked until a booking gives the profile that phone."""
    await messages.handle(message_event())
    [thread] = await threads(store)
    assert thread["customer_id"] is None
    await BookingsHandler(store, tenants).handle(booking_event(phone="+447911123456"))
    [thread] = await threads(store)
    [customer] = await store.database["customers"].find({}).to_list()
    assert thread["customer_id"] == customer["_id"]
    assert thread["matched_by"] == "phone"
    message = await stored(store, "wamid.1")
    assert message["customer_id"] == customer["_id"]
    assert customer["analytics"]["last_contact_at"] == T0


async def test_message_after_booking_matches_by_rule(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """Email, phone and reference each find the customer; matched_by records the rule."""
    bookings = BookingsHandler(store, tenants)
    await bookings.handle(booking_event(booking_id="b-1", phone="+447911123456"))
    booking = await store.bookings.get("acme", "b-1")
    assert booking is not None
    code = booking["confirmation_code"]
    assert code is not None
    await messages.handle(message_event(provider_message_id="p1"))
    await messages.handle(
        message_event(
            provider_message_id="e1",
            channel="email",
            provider="postmark",
            channel_user_id="ann@example.com",
            phone=None,
            email="ann@example.com",
        )
    )
    await messages.handle(
        message_event(
            provider_message_id="r1",
            channel="sms",
            provider="twilio",
            channel_user_id="+15005550006",
            phone=None,
            references=[code],
        )
    )
    rules = {
        m["provider_message_id"]: m["matched_by"]
        for m in await store.database["messages"].find({}).to_list()
    }
    assert rules == {"p1": "phone", "e1": "email", "r1": "reference"}


async def test_two_customers_with_one_phone_make_the_message_ambiguous(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """A rule that finds several customers stores the message unlinked with the candidates."""
    bookings = BookingsHandler(store, tenants)
    await bookings.handle(
        booking_event(booking_id="b-1", external_id="crm-1", phone="+447911123456")
    )
    await bookings.handle(
        booking_event(booking_id="b-2", external_id="crm-2", phone="+447911123456")
    )
    await messages.handle(message_event())
    message = await stored(store, "wamid.1")
    assert message["customer_id"] is None
    assert message["matched_by"] == "phone:ambiguous"
    assert len(message["candidates"]) == 2


async def test_whatsapp_phone_and_user_id_are_one_participant(
    messages: MessagesHandler, store: Store
) -> None:
    """Seen with a phone, then with both, then with only the user id: one thread."""
    await messages.handle(message_event(provider_message_id="a"))
    await messages.handle(message_event(provider_message_id="b", user_id="US.123"))
    await messages.handle(
        message_event(
            provider_message_id="c", user_id="US.123", phone=None, channel_user_id="US.123"
        )
    )
    [thread] = await threads(store)
    assert thread["message_count"] == 3


async def test_status_before_message_is_applied_when_it_arrives(
    messages: MessagesHandler, statuses: StatusesHandler, store: Store
) -> None:
    """A delivered receipt first, then the outbound message: the message is delivered."""
    await statuses.handle(status_event(provider_message_id="out-1", status="delivered"))
    await messages.handle(message_event(provider_message_id="out-1", direction="outbound"))
    assert (await stored(store, "out-1"))["status"] == "delivered"


async def test_statuses_only_move_forward_and_failed_keeps_its_error(
    messages: MessagesHandler, statuses: StatusesHandler, store: Store
) -> None:
    """read then delivered stays read; failed is final and keeps its error."""
    await messages.handle(message_event(provider_message_id="out-1", direction="outbound"))
    await statuses.handle(status_event(provider_message_id="out-1", status="read"))
    await statuses.handle(status_event(provider_message_id="out-1", status="delivered"))
    assert (await stored(store, "out-1"))["status"] == "read"
    await messages.handle(message_event(provider_message_id="out-2", direction="outbound"))
    await statuses.handle(
        status_event(
            provider_message_id="out-2",
            status="failed",
            error={"code": "131049", "title": "not delivered"},
        )
    )
    await statuses.handle(status_event(provider_message_id="out-2", status="read"))
    failed = await stored(store, "out-2")
    assert failed["status"] == "failed"
    assert failed["status_error"] == {"code": "131049", "title": "not delivered"}


async def test_outbound_messages_are_recorded_and_not_unread(
    messages: MessagesHandler, store: Store
) -> None:
    """A business echo is an outbound message with status sent; it is not unread."""
    await messages.handle(message_event(provider_message_id="in", occurred_at=T0))
    await messages.handle(
        message_event(
            provider_message_id="out", direction="outbound", occurred_at=T0 + timedelta(minutes=1)
        )
    )
    [thread] = await threads(store)
    assert thread["unread_count"] == 1
    assert thread["last_message"]["direction"] == "outbound"
    assert (await stored(store, "out"))["status"] == "sent"


async def test_instagram_identity_from_a_booking_links_the_thread(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """An IGSID in a booking's channel identities links that Instagram thread."""
    await messages.handle(
        message_event(
            provider_message_id="ig-1", channel="instagram", channel_user_id="IGSID-1", phone=None
        )
    )
    await BookingsHandler(store, tenants).handle(
        booking_event(channel_identities=[{"channel": "instagram", "channel_user_id": "IGSID-1"}])
    )
    [thread] = await threads(store)
    assert thread["customer_id"] is not None
    assert thread["matched_by"] == "channel_identity"


async def test_a_possible_number_newer_than_the_metadata_links(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """(v1.1) +44 7911 654321 is possible but not valid by phonenumbers' metadata: the
    booking stores it as the customer's phone and an SMS from it links by phone."""
    await BookingsHandler(store, tenants).handle(
        booking_event(booking_id="b-possible", emails=[], phone="+44 7911 654321")
    )
    [customer] = await store.database["customers"].find({}).to_list()
    assert customer["phone"] == "+447911654321"
    assert not customer.get("unmatched_phones")
    await messages.handle(
        message_event(
            provider_message_id="SM-possible",
            channel="sms",
            provider="twilio",
            channel_user_id="+447911654321",
            phone="+447911654321",
        )
    )
    [thread] = await threads(store)
    assert thread["customer_id"] == customer["_id"]
    assert thread["matched_by"] == "phone"


async def test_a_message_naming_a_booking_handled_first_links_when_the_booking_arrives(
    messages: MessagesHandler, store: Store, tenants: TenantDirectory
) -> None:
    """(v1.1) The README's first steps in the order the topics often give them: the message
    "about booking ABC-..." before the booking. The thread and its message are linked by
    reference once the booking is stored, as they would be the other way round."""
    code = confirmation_code("b-later")
    await messages.handle(
        message_event(
            provider_message_id="wamid.early",
            channel_user_id="447911000555",
            phone="+447911000555",
            text=f"Hi, about booking {code}",
            references=[code],
        )
    )
    [thread] = await threads(store)
    assert thread["customer_id"] is None
    await BookingsHandler(store, tenants).handle(
        booking_event(booking_id="b-later", emails=["late@example.com"], phone=None)
    )
    [thread] = await threads(store)
    [customer] = await store.database["customers"].find({}).to_list()
    assert (thread["customer_id"], thread["matched_by"]) == (customer["_id"], "reference")
    message = await stored(store, "wamid.early")
    assert (message["customer_id"], message["matched_by"]) == (customer["_id"], "reference")
    assert customer["analytics"]["last_contact_at"] is not None
