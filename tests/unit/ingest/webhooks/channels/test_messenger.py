"""Messenger: every recorded payload, receipts, postbacks, reactions, standby and bad items."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import (
    AttachmentKind,
    Channel,
    ContentType,
    DeliveryStatus,
    Direction,
    MessageEvent,
    StatusEvent,
    TenantDirectory,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels import messenger
from ingest.webhooks.channels.base import ParseError, ParseResult
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import make_context

RECEIVED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PAGE = "1691462197845448"
PSID = "1134343043305865"


def item(
    *,
    sender: str = PSID,
    recipient: str = PAGE,
    timestamp: Any = 1472026867080,
    **event: Any,
) -> dict[str, Any]:
    """One ``messaging[]`` item whose event is given as keyword (``message={...}``)."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        **event,
    }


def webhook(
    *, items: list[dict[str, Any]], page: str | None = PAGE, key: str = "messaging"
) -> bytes:
    """A Messenger webhook with one entry for ``page`` holding ``items``."""
    entry: dict[str, Any] = {"time": 1472026867114, key: items}
    if page is not None:
        entry["id"] = page
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def parse_bytes(raw: bytes, tenants: TenantDirectory) -> ParseResult:
    """Parse ``raw`` as the webhook route would, at the fixed arrival time."""
    return messenger.parse(
        raw,
        {"content-type": "application/json"},
        make_context(tenants=tenants, received_at=RECEIVED_AT),
    )


def only_message(raw: bytes, tenants: TenantDirectory) -> MessageEvent:
    """The single message a payload yields, asserting it raised no problem."""
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    [event] = result.events
    assert isinstance(event, MessageEvent)
    return event


def only_status(raw: bytes, tenants: TenantDirectory) -> StatusEvent:
    """The single status a payload yields, asserting it raised no problem."""
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    [event] = result.events
    assert isinstance(event, StatusEvent)
    return event


def test_text_message_fixture(tenants: TenantDirectory) -> None:
    """A captured text message is inbound from the PSID to acme's page."""
    event = only_message(provider_fixture("messenger_text_message.json"), tenants)
    mid = "mid.1472026867074:cfb5e1d4bde07a2a55"
    assert event.event_id == message_event_id("messenger", "meta", mid)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.MESSENGER
    assert event.provider == "meta"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == mid
    assert event.occurred_at == datetime(2016, 8, 24, 8, 21, 7, 80000, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.participant.channel_user_id == PSID
    assert event.participant.phone is None
    assert event.business.channel_account_id == PAGE
    assert event.content.type is ContentType.TEXT
    assert event.content.text == "hello world"


def test_signed_fixture_with_numeric_ids(tenants: TenantDirectory) -> None:
    """Ids sent as JSON numbers become strings; escaped non-ASCII text is decoded."""
    event = only_message(provider_fixture("messenger_text_message_signed.json"), tenants)
    assert event.tenant_id == "acme"
    assert event.business.channel_account_id == "1751036168465324"
    assert event.participant.channel_user_id == "982337261802700"
    assert event.content.text == "Test äëï"
    assert event.occurred_at == datetime(2016, 4, 17, 20, 8, 17, 635000, tzinfo=UTC)


def test_echo_fixture_is_outbound_to_the_recipient(tenants: TenantDirectory) -> None:
    """An echo (sender = page) is an outbound message whose participant is the recipient."""
    event = only_message(provider_fixture("messenger_echo.json"), tenants)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == PSID
    assert event.business.channel_account_id == PAGE
    assert event.tenant_id == "acme"
    assert event.content.text == "hello"
    assert event.provider_message_id == "mid.1472026868734:832ecbdfc1ffc30139"


def test_quick_reply_fixture(tenants: TenantDirectory) -> None:
    """A quick reply keeps its text and puts the quick reply's payload in payload."""
    event = only_message(provider_fixture("messenger_quick_reply.json"), tenants)
    assert event.content.type is ContentType.TEXT
    assert event.content.text == "Action"
    assert event.content.payload == "PICK_ACTION"


def test_old_postback_fixture_gets_a_deterministic_synthetic_id(tenants: TenantDirectory) -> None:
    """A postback without mid is a button message with id postback:{sender}:{timestamp}."""
    event = only_message(provider_fixture("messenger_postback.json"), tenants)
    assert event.content.type is ContentType.BUTTON
    assert event.content.payload == "DEVELOPED_DEFINED_PAYLOAD"
    assert event.provider_message_id == f"postback:{PSID}:1472028006107"
    assert event.event_id == message_event_id("messenger", "meta", event.provider_message_id)
    again = only_message(provider_fixture("messenger_postback.json"), tenants)
    assert again.event_id == event.event_id


def test_postback_referral_fixture_routes_to_globex(tenants: TenantDirectory) -> None:
    """The courier postback reaches globex's page and keeps title, payload and referral."""
    event = only_message(provider_fixture("messenger_postback_referral_courier.json"), tenants)
    assert event.tenant_id == "globex"
    assert event.participant.channel_user_id == "5678"
    assert event.content.text == "postback title"
    assert event.content.payload == "postback payload"
    assert event.content.referral is not None
    assert event.content.referral.ref == "postback ref"
    assert event.content.referral.source_type == "postback source"


def test_postback_with_mid_uses_it(tenants: TenantDirectory) -> None:
    """A current postback's own mid is its provider message id."""
    postback = {"mid": "m_abc", "title": "Book now", "payload": "BOOK"}
    event = only_message(webhook(items=[item(postback=postback)]), tenants)
    assert event.provider_message_id == "m_abc"
    assert event.content.text == "Book now"


def test_delivery_fixture(tenants: TenantDirectory) -> None:
    """A delivery with mids is one delivered status per mid, dated by the watermark."""
    event = only_status(provider_fixture("messenger_delivery.json"), tenants)
    mid = "mid.1472028395154:917e24ea99bc7d8f11"
    assert event.event_id == status_event_id("messenger", "meta", mid, "delivered")
    assert event.status is DeliveryStatus.DELIVERED
    assert event.provider_message_id == mid
    assert event.tenant_id == "acme"
    assert event.participant.channel_user_id == PSID
    # The fixture's timestamp is 0: the watermark dates the receipt.
    assert event.occurred_at == datetime(2016, 8, 24, 8, 46, 35, 190000, tzinfo=UTC)
    assert event.watermark is None


def test_read_fixture_is_a_watermark_status(tenants: TenantDirectory) -> None:
    """A Messenger read names no message: one read status for the watermark."""
    event = only_status(provider_fixture("messenger_read.json"), tenants)
    assert event.status is DeliveryStatus.READ
    assert event.provider_message_id == "watermark:1472026868763"
    assert event.watermark == datetime(2016, 8, 24, 8, 21, 8, 763000, tzinfo=UTC)
    assert event.occurred_at == datetime(2016, 8, 24, 8, 21, 9, 186000, tzinfo=UTC)
    assert event.participant.channel_user_id == PSID


def test_delivery_with_several_mids_gives_one_status_each(tenants: TenantDirectory) -> None:
    """Each mid in a delivery receipt gets its own status event."""
    delivery = {"mids": ["m_1", "m_2"], "watermark": 1472028395190}
    result = parse_bytes(webhook(items=[item(delivery=delivery)]), tenants)
    assert result.problems == []
    assert [event.provider_message_id for event in result.events] == ["m_1", "m_2"]


def test_delivery_without_mids_is_a_watermark_status(tenants: TenantDirectory) -> None:
    """A delivery naming no mid covers everything up to its watermark."""
    event = only_status(webhook(items=[item(delivery={"watermark": 1472028395190})]), tenants)
    assert event.provider_message_id == "watermark:1472028395190"
    assert event.watermark == datetime(2016, 8, 24, 8, 46, 35, 190000, tzinfo=UTC)


def test_receipt_with_neither_mid_nor_watermark_is_a_problem(tenants: TenantDirectory) -> None:
    """A receipt that names nothing cannot be applied: a problem."""
    result = parse_bytes(webhook(items=[item(read={"seq": 1})]), tenants)
    assert result.events == []
    assert len(result.problems) == 1
    assert "neither mids nor a watermark" in result.problems[0]


def test_postback_metadocs_fixture_is_not_a_webhook_body(tenants: TenantDirectory) -> None:
    """Meta's dashboard-test shape (field/value, no entry) raises ParseError."""
    with pytest.raises(ParseError, match="entry"):
        parse_bytes(provider_fixture("messenger_postback_metadocs.json"), tenants)


def test_postback_metadocs_value_in_an_envelope(tenants: TenantDirectory) -> None:
    """Its value, delivered as a messaging item, is a postback from the user_ref in seconds."""
    value = json.loads(provider_fixture("messenger_postback_metadocs.json"))["value"]
    event = only_message(webhook(items=[value]), tenants)
    assert event.provider_message_id == "m_MESSAGE-ID"
    assert event.participant.channel_user_id == "USER-REF-ID"
    assert event.occurred_at == datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC)
    assert event.content.text == "TITLE-FOR-THE-CTA"
    assert event.content.referral is not None
    assert event.content.referral.ref == "USER-DEFINED-REFERRAL-PARAM"
    assert event.content.referral.source_type == "SHORT-URL"


def test_text_metadocs_fixture_in_an_envelope(tenants: TenantDirectory) -> None:
    """Meta's bare messaging element parses once wrapped in an entry for a known page."""
    element = json.loads(provider_fixture("messenger_text_message_metadocs.json"))
    event = only_message(webhook(items=[element]), tenants)
    assert event.tenant_id == "acme"
    assert event.participant.channel_user_id == "<PSID>"
    assert event.provider_message_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert event.content.text == "hello, world!"
    assert event.content.payload == "<DEVELOPER_DEFINED_PAYLOAD>"
    assert event.occurred_at == datetime(2016, 3, 23, 0, 25, 52, 478000, tzinfo=UTC)


def test_text_metadocs_fixture_bare_is_a_parse_error(tenants: TenantDirectory) -> None:
    """The bare messaging element is not a webhook body: ParseError."""
    with pytest.raises(ParseError):
        parse_bytes(provider_fixture("messenger_text_message_metadocs.json"), tenants)


def test_tenant_falls_back_to_the_recipient_without_entry_id(tenants: TenantDirectory) -> None:
    """With no entry id, the recipient (or, for echoes, the sender) names the page."""
    inbound = item(message={"mid": "m_in", "text": "hi"}, recipient="1234567890")
    echo = item(
        message={"mid": "m_out", "text": "hello", "is_echo": True},
        sender="1234567890",
        recipient=PSID,
    )
    result = parse_bytes(webhook(items=[inbound, echo], page=None), tenants)
    assert result.problems == []
    assert [(e.tenant_id, e.participant.channel_user_id) for e in result.events] == [
        ("globex", PSID),
        ("globex", PSID),
    ]


def test_unknown_page_is_one_problem_and_other_entries_parse(tenants: TenantDirectory) -> None:
    """Items for an unknown page give one problem naming it; other entries still parse."""
    unknown = json.loads(
        webhook(items=[item(message={"mid": f"m_{n}", "text": "x"}) for n in range(3)], page="42")
    )
    known = json.loads(webhook(items=[item(message={"mid": "m_ok", "text": "ok"})]))
    body = {"object": "page", "entry": unknown["entry"] + known["entry"]}
    result = parse_bytes(json.dumps(body).encode(), tenants)
    assert [event.provider_message_id for event in result.events] == ["m_ok"]
    assert result.problems == ["unknown Messenger page id 42"]


def test_standby_items_are_parsed_like_messaging(tenants: TenantDirectory) -> None:
    """Items in entry[].standby (another app has the thread) are still normalised."""
    event = only_message(
        webhook(items=[item(message={"mid": "m_sb", "text": "hi"})], key="standby"), tenants
    )
    assert event.provider_message_id == "m_sb"
    assert event.direction is Direction.INBOUND


@pytest.mark.parametrize("kind", ["optin", "account_linking", "referral", "policy_enforcement"])
def test_other_event_kinds_are_problems(tenants: TenantDirectory, kind: str) -> None:
    """Messaging items that are not messages, reactions or receipts are problems."""
    result = parse_bytes(webhook(items=[item() | {kind: {"ref": "x"}}]), tenants)
    assert result.events == []
    assert result.problems == [f"unsupported messenger event {kind}"]


def test_reaction_and_unreaction_have_distinct_synthetic_ids(tenants: TenantDirectory) -> None:
    """React and unreact on a message are two reaction events; unreact has emoji ''."""
    react = item(reaction={"mid": "m_target", "action": "react", "reaction": "love", "emoji": "❤"})
    unreact = item(reaction={"mid": "m_target", "action": "unreact"}, timestamp=1472026870000)
    result = parse_bytes(webhook(items=[react, unreact]), tenants)
    assert result.problems == []
    first, second = result.events
    assert isinstance(first, MessageEvent)
    assert isinstance(second, MessageEvent)
    assert first.provider_message_id == f"reaction:m_target:{PSID}:react:1472026867080"
    assert second.provider_message_id == f"reaction:m_target:{PSID}:unreact:1472026870000"
    assert first.content.reaction is not None
    assert second.content.reaction is not None
    assert (first.content.reaction.emoji, second.content.reaction.emoji) == ("❤", "")
    assert first.content.reaction.target_provider_message_id == "m_target"
    assert first.event_id != second.event_id


def test_reaction_name_without_emoji_becomes_an_emoji(tenants: TenantDirectory) -> None:
    """An old reaction with only a name (like) gets that name's emoji."""
    event = only_message(
        webhook(items=[item(reaction={"mid": "m_t", "action": "react", "reaction": "like"})]),
        tenants,
    )
    assert event.content.reaction is not None
    assert event.content.reaction.emoji == "👍"


@pytest.mark.parametrize(
    ("attachment", "kind", "content_type"),
    [
        (
            {"type": "image", "payload": {"url": "https://cdn/i.jpg"}},
            AttachmentKind.IMAGE,
            ContentType.IMAGE,
        ),
        (
            {"type": "video", "payload": {"url": "https://cdn/v.mp4"}},
            AttachmentKind.VIDEO,
            ContentType.VIDEO,
        ),
        (
            {"type": "audio", "payload": {"url": "https://cdn/a.mp4"}},
            AttachmentKind.AUDIO,
            ContentType.AUDIO,
        ),
        (
            {"type": "file", "payload": {"url": "https://cdn/f.pdf"}},
            AttachmentKind.DOCUMENT,
            ContentType.DOCUMENT,
        ),
        (
            {
                "type": "image",
                "payload": {"url": "https://cdn/s.png", "sticker_id": 369239263222822},
            },
            AttachmentKind.STICKER,
            ContentType.STICKER,
        ),
        (
            {
                "type": "fallback",
                "title": "Our tours",
                "url": "https://acme.example/tours",
                "payload": None,
            },
            AttachmentKind.SHARE,
            ContentType.UNSUPPORTED,
        ),
        (
            {"type": "template", "payload": {"template_type": "button"}},
            AttachmentKind.OTHER,
            ContentType.UNSUPPORTED,
        ),
    ],
)
def test_attachments(
    tenants: TenantDirectory,
    attachment: dict[str, Any],
    kind: AttachmentKind,
    content_type: ContentType,
) -> None:
    """Each attachment type maps to its kind; the first decides the content type."""
    message = {"mid": "m_att", "attachments": [attachment]}
    event = only_message(webhook(items=[item(message=message)]), tenants)
    assert event.content.type is content_type
    [found] = event.content.attachments
    assert found.kind is kind
    assert found.url == (attachment.get("payload") or {}).get("url", attachment.get("url"))


def test_sticker_keeps_its_id_and_fallback_its_title(tenants: TenantDirectory) -> None:
    """A sticker's id is its media id; a shared link's title is its caption and text."""
    message = {
        "mid": "m_two",
        "attachments": [
            {"type": "fallback", "title": "Our tours", "url": "https://acme.example/tours"},
            {
                "type": "image",
                "payload": {"url": "https://cdn/s.png", "sticker_id": 369239263222822},
            },
        ],
    }
    event = only_message(webhook(items=[item(message=message)]), tenants)
    share, sticker = event.content.attachments
    assert share.caption == "Our tours"
    assert event.content.text == "Our tours"
    assert sticker.provider_media_id == "369239263222822"


def test_location_attachment(tenants: TenantDirectory) -> None:
    """A shared location fills content.location and keeps the attachment."""
    attachment = {
        "type": "location",
        "title": "Pinned Location",
        "url": "https://l.facebook.com/l.php?u=maps",
        "payload": {"coordinates": {"lat": 52.52, "long": 13.405}},
    }
    event = only_message(
        webhook(items=[item(message={"mid": "m_loc", "attachments": [attachment]})]), tenants
    )
    assert event.content.type is ContentType.LOCATION
    assert event.content.location is not None
    assert (event.content.location.latitude, event.content.location.longitude) == (52.52, 13.405)
    assert event.content.attachments[0].kind is AttachmentKind.LOCATION


def test_text_with_image_keeps_both(tenants: TenantDirectory) -> None:
    """Text sent with an image is the image's message text; references come from it."""
    message = {
        "mid": "m_mix",
        "text": "Receipt for ABC-123456",
        "attachments": [{"type": "image", "payload": {"url": "https://cdn/r.jpg"}}],
    }
    event = only_message(webhook(items=[item(message=message)]), tenants)
    assert event.content.type is ContentType.IMAGE
    assert event.content.text == "Receipt for ABC-123456"
    assert event.references == ["ABC-123456"]


def test_reply_to_names_the_original(tenants: TenantDirectory) -> None:
    """A reply carries the mid it answers."""
    message = {"mid": "m_reply", "text": "yes", "reply_to": {"mid": "m_original"}}
    event = only_message(webhook(items=[item(message=message)]), tenants)
    assert event.content.reply_to_provider_message_id == "m_original"


def test_message_without_mid_is_a_problem(tenants: TenantDirectory) -> None:
    """A message with no mid cannot be identified: a problem, and the next item parses."""
    result = parse_bytes(
        webhook(items=[item(message={"text": "?"}), item(message={"mid": "m_ok", "text": "ok"})]),
        tenants,
    )
    assert [event.provider_message_id for event in result.events] == ["m_ok"]
    assert len(result.problems) == 1
    assert "has no mid" in result.problems[0]


def test_same_body_twice_gives_same_ids(tenants: TenantDirectory) -> None:
    """Every event id, synthetic ones included, is the same on redelivery."""
    items = [
        item(message={"mid": "m_1", "text": "a"}),
        item(postback={"payload": "P"}),
        item(reaction={"mid": "m_1", "action": "react", "emoji": "😮"}),
        item(read={"watermark": 1472026868763}),
    ]
    raw = webhook(items=items)
    first = [event.event_id for event in parse_bytes(raw, tenants).events]
    assert first == [event.event_id for event in parse_bytes(raw, tenants).events]
    assert len(set(first)) == 4


def test_instagram_body_is_refused(tenants: TenantDirectory) -> None:
    """A body for Instagram (object instagram) is not a Messenger webhook: ParseError."""
    with pytest.raises(ParseError, match="instagram"):
        parse_bytes(provider_fixture("instagram_text_message_courier.json"), tenants)


def test_invalid_json_raises_parse_error(tenants: TenantDirectory) -> None:
    """A body that is not JSON raises ParseError."""
    with pytest.raises(ParseError):
        parse_bytes(b"\x00\x01", tenants)
