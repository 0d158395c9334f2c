"""Recorded 2026 Meta payloads (sources in tests/fixtures/providers/SOURCES.md) through the
WhatsApp, Messenger and Instagram adapters."""

from datetime import UTC, datetime

import pytest

from contracts import (
    AttachmentKind,
    ConsentEvent,
    ConsentStatus,
    ContentType,
    DeliveryStatus,
    EditAction,
    IdentityChange,
    IdentityEvent,
    MessageEditEvent,
    MessageEvent,
    StatusEvent,
    TenantDirectory,
    message_event_id,
    parse_tenants,
)
from ingest.webhooks.channels import instagram, messenger, whatsapp
from ingest.webhooks.channels.base import Parser, ParseResult
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import make_context

#: The accounts the recorded payloads reach, each given to a tenant.
TENANTS = parse_tenants(
    """
[[tenants]]
id = "acme"
name = "Acme"
whatsapp_phone_number_ids = [
    "106540352242922", "101372823049689", "1122334455667",
    "810246222167565", "113037821608895", "409552778964973",
]
instagram_account_ids = ["17841400000000000", "{PAGE_ID}"]
messenger_page_ids = ["1234567890", "12345654332"]
""",
    environ={},
)


def parsed(parser: Parser, name: str, tenants: TenantDirectory = TENANTS) -> ParseResult:
    result = parser(
        provider_fixture(name),
        {"content-type": "application/json"},
        make_context(tenants=tenants, received_at=datetime(2026, 9, 1, tzinfo=UTC)),
    )
    assert result.problems == [], result.problems
    return result


def test_whatsapp_edit_of_an_image_caption() -> None:
    [edit] = parsed(whatsapp.parse, "whatsapp_edit_image_metadocs.json").events
    assert isinstance(edit, MessageEditEvent)
    assert edit.action is EditAction.EDIT
    assert edit.target_provider_message_id == (
        "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    )
    assert edit.content is not None
    assert edit.content.type is ContentType.IMAGE
    assert edit.content.text == "Updated image caption"
    assert edit.content.attachments[0].provider_media_id == "1234567890"


def test_whatsapp_revoke() -> None:
    [revoke] = parsed(whatsapp.parse, "whatsapp_revoke_metadocs.json").events
    assert isinstance(revoke, MessageEditEvent)
    assert revoke.action is EditAction.REVOKE
    assert revoke.content is None


def test_whatsapp_number_change() -> None:
    [change] = parsed(whatsapp.parse, "whatsapp_system_user_changed_number_metadocs.json").events
    assert isinstance(change, IdentityEvent)
    assert change.change is IdentityChange.NUMBER
    assert change.participant.phone == "+16505551234"
    assert change.new_phone == "+12195555358"


def test_whatsapp_group_message() -> None:
    [message] = parsed(whatsapp.parse, "whatsapp_group_text_metadocs.json").events
    assert isinstance(message, MessageEvent)
    assert message.group is not None
    assert message.group.id == "HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA"
    assert message.participant.phone == "+16505551234"


def test_whatsapp_group_message_relayed_by_gupshup() -> None:
    [message] = parsed(whatsapp.parse, "whatsapp_group_text_gupshup_capture.json").events
    assert isinstance(message, MessageEvent)
    assert message.group is not None


def test_whatsapp_marketing_resume() -> None:
    [consent] = parsed(whatsapp.parse, "whatsapp_user_preferences_resume_metadocs.json").events
    assert isinstance(consent, ConsentEvent)
    assert consent.status is ConsentStatus.GIVEN
    assert consent.occurred_at == datetime.fromtimestamp(1731705721, UTC)


def test_whatsapp_preference_kinds_not_known_here_are_named() -> None:
    """pywa's ``signup`` variant is not a documented marketing value: refused by name."""
    result = whatsapp.parse(
        provider_fixture("whatsapp_user_preferences_signup_pywa.json"),
        {},
        make_context(tenants=TENANTS),
    )
    assert result.problems
    assert all("preference" in problem for problem in result.problems)


def test_whatsapp_played_receipt() -> None:
    [status] = parsed(whatsapp.parse, "whatsapp_status_played_pywa.json").events
    assert isinstance(status, StatusEvent)
    assert status.status is DeliveryStatus.PLAYED


@pytest.mark.parametrize(
    "name",
    [
        "whatsapp_status_sent_pricing_free_service_capture.json",
        "whatsapp_status_delivered_pricing_free_service_capture.json",
    ],
)
def test_whatsapp_receipts_keep_pricing_and_conversation(name: str) -> None:
    [status] = parsed(whatsapp.parse, name).events
    assert isinstance(status, StatusEvent)
    assert status.pricing is not None
    assert (status.pricing.billable, status.pricing.type) == (False, "free_customer_service")
    assert status.conversation is not None
    assert status.conversation.origin_type == "service"


def test_whatsapp_quoted_reply() -> None:
    [message] = parsed(whatsapp.parse, "whatsapp_text_reply_context_capture.json").events
    assert isinstance(message, MessageEvent)
    assert message.content.reply_to_provider_message_id == (
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI4RkFFNEFEQzdENUZGMTM3RTAA"
    )


@pytest.mark.parametrize(
    "name",
    [
        "whatsapp_unsupported_unavailable_131060_capture.json",
        "whatsapp_unsupported_edit_131051_metadocs.json",
        "whatsapp_unsupported_131051_capture_bindambc.json",
    ],
)
def test_whatsapp_unsupported_messages_are_placeholders_with_ids_of_their_own(name: str) -> None:
    """Their thread shows them; the real message WhatsApp may send later under the same
    wamid is not taken for a redelivery of the placeholder."""
    [message] = parsed(whatsapp.parse, name).events
    assert isinstance(message, MessageEvent)
    assert message.content.type is ContentType.UNSUPPORTED
    assert message.content.text
    assert message.content.text.startswith("A message WhatsApp cannot show here")
    real = message_event_id("whatsapp", "meta", message.provider_message_id)
    assert message.event_id != real


def test_messenger_sticker_of_its_own_type() -> None:
    [message] = parsed(messenger.parse, "messenger_sticker_metadocs.json").events
    assert isinstance(message, MessageEvent)
    assert message.content.type is ContentType.STICKER
    [sticker] = message.content.attachments
    assert sticker.provider_media_id == "369239263222822"


def test_messenger_sticker_as_an_image_of_2017() -> None:
    [message] = parsed(messenger.parse, "messenger_sticker_image_legacy_restfb.json").events
    assert isinstance(message, MessageEvent)
    [sticker] = message.content.attachments
    assert sticker.kind is AttachmentKind.STICKER
    assert sticker.url is not None


def test_messenger_edit() -> None:
    [edit] = parsed(messenger.parse, "messenger_message_edit_restfb.json").events
    assert isinstance(edit, MessageEditEvent)
    assert edit.target_provider_message_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert edit.provider_message_id == "mid.1457764197618:41d102a3e1ae206a38:edit:37"
    assert edit.content is not None
    assert edit.content.text == "hello, world!"


def test_messenger_quoted_reply() -> None:
    [message] = parsed(messenger.parse, "messenger_reply_to_metadocs.json").events
    assert isinstance(message, MessageEvent)
    assert message.content.reply_to_provider_message_id == (
        "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"
    )


def test_instagram_shared_post_keeps_its_media_url() -> None:
    [message] = parsed(instagram.parse, "instagram_ig_post_capture_2026.json").events
    assert isinstance(message, MessageEvent)
    [post] = message.content.attachments
    assert post.url == "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1812&signature=x"
    assert post.provider_media_id == "17897654949593778"


def test_instagram_share_and_ig_post_of_one_post_are_one_attachment() -> None:
    [message] = parsed(instagram.parse, "instagram_ig_post_share_transition_metadocs.json").events
    assert isinstance(message, MessageEvent)
    [post] = message.content.attachments
    assert post.provider_media_id == "18139494541428835"
