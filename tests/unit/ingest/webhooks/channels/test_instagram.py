"""Instagram: every recorded payload, unsends, story replies and mentions, seen receipts."""

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
from ingest.webhooks.channels import instagram
from ingest.webhooks.channels.base import ParseError, ParseResult
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import make_context

RECEIVED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ACCOUNT = "1234567890"
IGSID = "5678"
PLACEHOLDER_ACCOUNT = "<YOUR_APP_USERS_INSTAGRAM_USER_ID>"
COURIER_TIME = datetime(2016, 4, 7, 1, 11, 27, 970000, tzinfo=UTC)


def with_real_times(raw: bytes, *, millis: int = 1718000000000) -> bytes:
    """A Postman example with its quoted time placeholders replaced by ``millis``."""
    text = raw.decode()
    for placeholder in ('"<TIME_NOTIFICATION_WAS_SENT>"', '"<TIME_WEBHOOK_WAS_TRIGGERED>"'):
        text = text.replace(placeholder, str(millis))
    return text.encode()


def webhook(*, items: list[dict[str, Any]], account: str = ACCOUNT) -> bytes:
    """An Instagram webhook with one entry for ``account`` holding ``items``."""
    entry = {"id": account, "time": 1459991487970, "messaging": items}
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def item(*, sender: str = IGSID, recipient: str = ACCOUNT, **event: Any) -> dict[str, Any]:
    """One ``messaging[]`` item whose event is given as keyword."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": 1459991487970,
        **event,
    }


def parse_bytes(raw: bytes, tenants: TenantDirectory) -> ParseResult:
    """Parse ``raw`` as the webhook route would, at the fixed arrival time."""
    return instagram.parse(
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


def test_text_message_courier_fixture(tenants: TenantDirectory) -> None:
    """A text DM is inbound from the IGSID to acme's Instagram account."""
    event = only_message(provider_fixture("instagram_text_message_courier.json"), tenants)
    assert event.event_id == message_event_id("instagram", "meta", "external_id")
    assert event.tenant_id == "acme"
    assert event.channel is Channel.INSTAGRAM
    assert event.provider == "meta"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == "external_id"
    assert event.occurred_at == COURIER_TIME
    assert event.received_at == RECEIVED_AT
    assert event.participant.channel_user_id == IGSID
    assert event.business.channel_account_id == ACCOUNT
    assert event.content.type is ContentType.TEXT
    assert event.content.text == "Hello World"


def test_story_mention_courier_fixture(tenants: TenantDirectory) -> None:
    """A story mention keeps its story attachment; with no text it is unsupported."""
    event = only_message(provider_fixture("instagram_story_mention_courier.json"), tenants)
    assert event.direction is Direction.INBOUND
    assert event.content.type is ContentType.UNSUPPORTED
    [story] = event.content.attachments
    assert story.kind is AttachmentKind.STORY
    assert story.url == "https://story-url"


def test_echo_courier_fixture_never_takes_the_account_as_customer(
    tenants: TenantDirectory,
) -> None:
    """courier's echo keeps the user as sender; the customer is still the user, not us."""
    event = only_message(provider_fixture("instagram_echo_courier.json"), tenants)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == IGSID
    assert event.business.channel_account_id == ACCOUNT
    assert event.provider_message_id == "qT7ywaK"
    assert event.content.type is ContentType.UNSUPPORTED


@pytest.mark.parametrize(
    "fixture",
    ["instagram_text_message.json", "instagram_story_reply.json", "instagram_reaction.json"],
)
def test_postman_fixtures_with_placeholder_times_are_problems(
    tenants: TenantDirectory, fixture: str
) -> None:
    """Meta's Postman examples quote placeholders as times: a problem, not a guessed time."""
    result = parse_bytes(provider_fixture(fixture), tenants)
    assert result.events == []
    assert len(result.problems) == 1
    assert "'<TIME_WEBHOOK_WAS_TRIGGERED>' is not epoch milliseconds" in result.problems[0]


def test_postman_text_fixture_with_real_times(tenants: TenantDirectory) -> None:
    """The Postman text example, with times filled in, is a text from the sender."""
    event = only_message(with_real_times(provider_fixture("instagram_text_message.json")), tenants)
    assert event.tenant_id == "acme"
    assert event.business.channel_account_id == PLACEHOLDER_ACCOUNT
    assert event.participant.channel_user_id == "<SENDER_ID>"
    assert event.provider_message_id == "<MESSAGE_ID>"
    assert event.content.text == "Hello"
    assert event.occurred_at == datetime(2024, 6, 10, 6, 13, 20, tzinfo=UTC)


def test_postman_story_reply_fixture_with_real_times(tenants: TenantDirectory) -> None:
    """Every flag at once: an outbound, unsent, unsupported reply to a story."""
    raw = with_real_times(provider_fixture("instagram_story_reply.json"))
    event = only_message(raw, tenants)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == "<RECIPIENT_ID>"
    assert event.provider_message_id == "<MESSAGE_ID>"
    assert event.content.deleted is True
    assert event.event_id == message_event_id("instagram", "meta", "<MESSAGE_ID>#deleted")
    assert event.content.type is ContentType.UNSUPPORTED
    assert event.content.text == "<MESSAGE_TEXT>"
    [story] = event.content.attachments
    assert story.kind is AttachmentKind.STORY
    assert story.url == "<CDN_URL_FOR_THE_STORY>"
    assert story.provider_media_id == "<STORY_ID>"


def test_postman_reaction_fixture_with_real_times(tenants: TenantDirectory) -> None:
    """A reaction names its emoji and target and gets a deterministic synthetic id."""
    event = only_message(with_real_times(provider_fixture("instagram_reaction.json")), tenants)
    assert event.content.type is ContentType.REACTION
    assert event.content.reaction is not None
    assert event.content.reaction.emoji == "❤"
    assert event.content.reaction.target_provider_message_id == "<MESSAGE_ID>"
    assert event.provider_message_id == (
        "reaction:<MESSAGE_ID>:<INSTAGRAM_SCOPED_ID>:react:1718000000000"
    )


def test_unsend_does_not_collapse_into_the_original(tenants: TenantDirectory) -> None:
    """The original message and its unsend share a mid but not an event id."""
    original = item(message={"mid": "aWdfZAG1", "text": "see you at 5"})
    unsend = item(message={"mid": "aWdfZAG1", "is_deleted": True})
    result = parse_bytes(webhook(items=[original, unsend]), tenants)
    assert result.problems == []
    first, second = result.events
    assert isinstance(first, MessageEvent)
    assert isinstance(second, MessageEvent)
    assert first.provider_message_id == second.provider_message_id == "aWdfZAG1"
    assert first.event_id == message_event_id("instagram", "meta", "aWdfZAG1")
    assert second.event_id == message_event_id("instagram", "meta", "aWdfZAG1#deleted")
    assert (first.content.deleted, second.content.deleted) == (False, True)


def test_story_reply_with_text(tenants: TenantDirectory) -> None:
    """A text reply to our story is a text message with the story as an attachment."""
    message = {
        "mid": "m_story",
        "text": "Is ABC-123456 still on?",
        "reply_to": {"story": {"url": "https://cdn/story", "id": "17900"}},
    }
    event = only_message(webhook(items=[item(message=message)]), tenants)
    assert event.content.type is ContentType.TEXT
    assert event.content.attachments[0].kind is AttachmentKind.STORY
    assert event.content.attachments[0].provider_media_id == "17900"
    assert event.references == ["ABC-123456"]


@pytest.mark.parametrize("kind", ["share", "ig_reel", "reel", "ig_post"])
def test_shared_posts_and_reels_are_share_attachments(tenants: TenantDirectory, kind: str) -> None:
    """Shared posts and reels are kept as share attachments."""
    attachment = {"type": kind, "payload": {"url": "https://cdn/reel", "title": "Sunset tour"}}
    event = only_message(
        webhook(items=[item(message={"mid": "m_sh", "attachments": [attachment]})]), tenants
    )
    [found] = event.content.attachments
    assert found.kind is AttachmentKind.SHARE
    assert found.url == "https://cdn/reel"
    assert event.content.text == "Sunset tour"


def test_seen_receipt_names_the_message(tenants: TenantDirectory) -> None:
    """Instagram's read receipt names a mid: a read status for that mid."""
    result = parse_bytes(webhook(items=[item(read={"mid": "m_seen"})]), tenants)
    assert result.problems == []
    [event] = result.events
    assert isinstance(event, StatusEvent)
    assert event.status is DeliveryStatus.READ
    assert event.provider_message_id == "m_seen"
    assert event.event_id == status_event_id("instagram", "meta", "m_seen", "read")
    assert event.participant.channel_user_id == IGSID
    assert event.watermark is None


def test_unreact_gives_an_empty_emoji(tenants: TenantDirectory) -> None:
    """Removing a reaction is a reaction event with emoji ''."""
    event = only_message(
        webhook(items=[item(reaction={"mid": "m_t", "action": "unreact"})]), tenants
    )
    assert event.content.reaction is not None
    assert event.content.reaction.emoji == ""


def test_comments_and_mentions_are_problems(tenants: TenantDirectory) -> None:
    """entry[].changes (comments, mentions) are not messages: one problem each."""
    body = {
        "object": "instagram",
        "entry": [
            {
                "id": ACCOUNT,
                "time": 1459991487970,
                "changes": [
                    {"field": "comments", "value": {"id": "1", "text": "nice"}},
                    {"field": "mentions", "value": {"media_id": "2"}},
                ],
            }
        ],
    }
    result = parse_bytes(json.dumps(body).encode(), tenants)
    assert result.events == []
    assert result.problems == [
        "unsupported instagram event comments",
        "unsupported instagram event mentions",
    ]


def test_unknown_account_is_a_problem(tenants: TenantDirectory) -> None:
    """An Instagram account no tenant owns gives a problem naming it."""
    raw = webhook(items=[item(message={"mid": "m", "text": "hi"})], account="0")
    result = parse_bytes(raw, tenants)
    assert result.events == []
    assert result.problems == ["unknown Instagram account id 0"]


def test_messenger_body_is_refused(tenants: TenantDirectory) -> None:
    """A Messenger body (object page) is not an Instagram webhook: ParseError."""
    with pytest.raises(ParseError, match="page"):
        parse_bytes(provider_fixture("messenger_text_message.json"), tenants)
