"""WhatsApp's 2026 formats (docs/v1.1.md): edits, revokes, identity changes, played
receipts, pricing, groups, marketing preferences and quoted replies.

Cases are built from the syntax on Meta's webhook reference pages (named per test); recorded
payloads are in ``test_meta_recorded_2026.py`` where they exist.
"""

from datetime import UTC, datetime
from typing import Any

from contracts import (
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    DeliveryStatus,
    EditAction,
    IdentityChange,
    IdentityEvent,
    MessageEditEvent,
    MessageEvent,
    StatusEvent,
    TenantDirectory,
)
from tests.unit.ingest.webhooks.channels.test_whatsapp import (
    CUSTOMER,
    change,
    parse_bytes,
    text_message,
    webhook,
)


def only(raw: bytes, tenants: TenantDirectory) -> Any:
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    [event] = result.events
    return event


def test_an_edit_names_its_original_and_carries_the_new_message(
    tenants: TenantDirectory,
) -> None:
    """developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
    messages/edit: ``type: edit``, ``edit.original_message_id``, ``edit.message``."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.EDIT1",
        "timestamp": "1749416390",
        "type": "edit",
        "edit": {
            "original_message_id": "wamid.ORIGINAL",
            "message": {"type": "text", "text": {"body": "Four of us, not three"}},
        },
    }
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert isinstance(event, MessageEditEvent)
    assert event.action is EditAction.EDIT
    assert event.provider_message_id == "wamid.EDIT1"
    assert event.target_provider_message_id == "wamid.ORIGINAL"
    assert event.content is not None
    assert event.content.text == "Four of us, not three"
    assert event.participant.phone == f"+{CUSTOMER}"
    assert event.occurred_at == datetime.fromtimestamp(1749416390, UTC)


def test_an_edited_caption_keeps_its_media(tenants: TenantDirectory) -> None:
    message = {
        "from": CUSTOMER,
        "id": "wamid.EDIT2",
        "timestamp": "1749416390",
        "type": "edit",
        "edit": {
            "original_message_id": "wamid.PHOTO",
            "message": {
                "type": "image",
                "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "Us"},
            },
        },
    }
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.text == "Us"
    [attachment] = event.content.attachments
    assert attachment.provider_media_id == "1479537139650973"


def test_a_revoke_names_what_it_unsends(tenants: TenantDirectory) -> None:
    """.../webhooks/reference/messages/revoke: ``type: revoke``,
    ``revoke.original_message_id``."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.REVOKE1",
        "timestamp": "1749416399",
        "type": "revoke",
        "revoke": {"original_message_id": "wamid.ORIGINAL"},
    }
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert isinstance(event, MessageEditEvent)
    assert event.action is EditAction.REVOKE
    assert event.content is None
    assert event.target_provider_message_id == "wamid.ORIGINAL"


def test_a_business_edit_on_another_device_is_an_edit_of_an_outbound_message(
    tenants: TenantDirectory,
) -> None:
    """smb_message_echoes carries the business's own edits (coexistence)."""
    echo = {
        "from": "15550783881",
        "to": CUSTOMER,
        "id": "wamid.EDIT3",
        "timestamp": "1749416390",
        "type": "edit",
        "edit": {
            "original_message_id": "wamid.SENT",
            "message": {"type": "text", "text": {"body": "Corrected time: 10:00"}},
        },
    }
    raw = webhook(changes=[change(messages=[echo], field="smb_message_echoes")])
    event = only(raw, tenants)
    assert isinstance(event, MessageEditEvent)
    assert event.participant.channel_user_id == CUSTOMER


def test_a_changed_number_is_an_identity_event(tenants: TenantDirectory) -> None:
    """System message ``user_changed_number`` with ``new_wa_id``
    (.../webhooks/reference/messages/system)."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.SYS1",
        "timestamp": "1749416400",
        "type": "system",
        "system": {
            "body": "Sheena changed from 16505551234 to 16505559999",
            "new_wa_id": "16505559999",
            "type": "user_changed_number",
        },
    }
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert isinstance(event, IdentityEvent)
    assert event.change is IdentityChange.NUMBER
    assert event.participant.channel_user_id == CUSTOMER
    assert event.new_channel_user_id == "16505559999"
    assert event.new_phone == "+16505559999"


def test_a_changed_user_id_is_an_identity_event(tenants: TenantDirectory) -> None:
    message = {
        "from": CUSTOMER,
        "id": "wamid.SYS2",
        "timestamp": "1749416400",
        "type": "system",
        "system": {
            "body": "User's user id changed",
            "user_id": "US.13491208655302741918",
            "type": "user_changed_user_id",
        },
    }
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert isinstance(event, IdentityEvent)
    assert event.change is IdentityChange.USER_ID
    assert event.new_user_id == "US.13491208655302741918"
    assert event.new_channel_user_id is None


def test_played_receipts_keep_pricing_and_conversation(tenants: TenantDirectory) -> None:
    """Status ``played`` and the ``pricing`` and ``conversation`` objects
    (.../webhooks/reference/messages/status)."""
    status = {
        "id": "wamid.VOICE",
        "status": "played",
        "timestamp": "1749416500",
        "recipient_id": CUSTOMER,
        "conversation": {
            "id": "CONVERSATION_ID",
            "expiration_timestamp": "1749502900",
            "origin": {"type": "service"},
        },
        "pricing": {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        },
    }
    event = only(webhook(changes=[change(statuses=[status])]), tenants)
    assert isinstance(event, StatusEvent)
    assert event.status is DeliveryStatus.PLAYED
    assert event.pricing is not None
    assert (event.pricing.billable, event.pricing.pricing_model) == (False, "PMP")
    assert event.pricing.type == "free_customer_service"
    assert event.conversation is not None
    assert event.conversation.origin_type == "service"
    assert event.conversation.expires_at == datetime.fromtimestamp(1749502900, UTC)


def test_a_group_message_names_its_group(tenants: TenantDirectory) -> None:
    message = text_message(wamid="wamid.GROUP1", body="Who is bringing snacks?")
    message["group_id"] = "120363025246125888"
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert isinstance(event, MessageEvent)
    assert event.group is not None
    assert event.group.id == "120363025246125888"
    assert event.participant.phone == f"+{CUSTOMER}"


def test_a_marketing_stop_and_resume_are_consent_events(tenants: TenantDirectory) -> None:
    """Field ``user_preferences`` (.../webhooks/reference/user_preferences): ``category:
    marketing_messages``, ``value`` stop or resume."""
    preferences = [
        {
            "wa_id": CUSTOMER,
            "detail": "User requested to stop marketing messages",
            "category": "marketing_messages",
            "value": value,
            "timestamp": timestamp,
        }
        for value, timestamp in (("stop", 1731705721), ("resume", 1731705999))
    ]
    value = change(field="user_preferences")["value"] | {"user_preferences": preferences}
    raw = webhook(changes=[{"field": "user_preferences", "value": value}])
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    stop, resume = result.events
    assert isinstance(stop, ConsentEvent)
    assert isinstance(resume, ConsentEvent)
    assert (stop.status, resume.status) == (ConsentStatus.REVOKED, ConsentStatus.GIVEN)
    assert stop.topic is ConsentTopic.MARKETING
    assert stop.source == "whatsapp_user_preferences"
    assert stop.participant.phone == f"+{CUSTOMER}"
    assert stop.event_id != resume.event_id


def test_an_unknown_preference_is_a_problem_that_names_it(tenants: TenantDirectory) -> None:
    preference = {"wa_id": CUSTOMER, "category": "sms_flavour", "value": "stop", "timestamp": 1}
    value = change(field="user_preferences")["value"] | {"user_preferences": [preference]}
    result = parse_bytes(webhook(changes=[{"field": "user_preferences", "value": value}]), tenants)
    assert result.events == []
    [problem] = result.problems
    assert "sms_flavour" in problem


def test_a_quoted_reply_names_its_target(tenants: TenantDirectory) -> None:
    message = text_message(wamid="wamid.REPLY", body="Yes, that one")
    message["context"] = {"from": "15550783881", "id": "wamid.QUOTED"}
    event = only(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.reply_to_provider_message_id == "wamid.QUOTED"
