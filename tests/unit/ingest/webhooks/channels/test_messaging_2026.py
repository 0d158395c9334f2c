"""Messenger's and Instagram's 2026 formats (docs/v1.1.md): stickers of their own type,
shared posts and stories with their media, edits, and quoted replies.

Built from the syntax of Meta's Messenger Platform webhook reference ("messages",
"message_edits") and the Instagram messaging attachment types; recorded payloads are in
``test_meta_recorded_2026.py`` where they exist.
"""

from contracts import (
    AttachmentKind,
    ContentType,
    EditAction,
    MessageEditEvent,
    TenantDirectory,
)
from tests.unit.ingest.webhooks.channels import test_instagram as instagram
from tests.unit.ingest.webhooks.channels import test_messenger as messenger


def test_a_messenger_sticker_of_its_own_type_keeps_its_image(tenants: TenantDirectory) -> None:
    """Since 2026 Messenger sends ``type: sticker`` (earlier ``image`` with a sticker_id)."""
    for kind in ("sticker", "image"):
        attachment = {
            "type": kind,
            "payload": {
                "url": "https://scontent.xx.fbcdn.net/sticker.png",
                "sticker_id": 369239263222822,
            },
        }
        raw = messenger.webhook(
            items=[messenger.item(message={"mid": f"m_{kind}", "attachments": [attachment]})]
        )
        event = messenger.only_message(raw, tenants)
        assert event.content.type is ContentType.STICKER, kind
        [sticker] = event.content.attachments
        assert sticker.kind is AttachmentKind.STICKER
        assert sticker.url == "https://scontent.xx.fbcdn.net/sticker.png"
        assert sticker.provider_media_id == "369239263222822"


def test_a_shared_story_keeps_its_media_url(tenants: TenantDirectory) -> None:
    """An ``ig_story`` share's media is at ``payload.story_media_url``."""
    attachment = {
        "type": "ig_story",
        "payload": {
            "story_media_url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1797",
            "story_media_id": "17971234567890123",
        },
    }
    raw = instagram.webhook(
        items=[instagram.item(message={"mid": "aWdfZAG1faWQ", "attachments": [attachment]})]
    )
    event = instagram.only_message(raw, tenants)
    [story] = event.content.attachments
    assert story.kind is AttachmentKind.STORY
    assert story.url == "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1797"
    assert story.provider_media_id == "17971234567890123"


def test_a_shared_post_keeps_its_media_url(tenants: TenantDirectory) -> None:
    attachment = {
        "type": "ig_post",
        "payload": {
            "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1802",
            "title": "Sunset paddle",
            "ig_post_media_id": "18029876543210987",
        },
    }
    raw = instagram.webhook(
        items=[instagram.item(message={"mid": "aWdfZAG1fb2", "attachments": [attachment]})]
    )
    event = instagram.only_message(raw, tenants)
    [post] = event.content.attachments
    assert post.kind is AttachmentKind.SHARE
    assert post.url == "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1802"
    assert post.caption == "Sunset paddle"


def test_a_messenger_edit_is_an_edit_of_the_original(tenants: TenantDirectory) -> None:
    """``message_edits``: ``message_edit`` {``mid``, ``text``, ``num_edit``}; each numbered
    edit is its own event, a redelivery of one is the same event."""

    def edit(number: int, text: str) -> bytes:
        return messenger.webhook(
            items=[
                messenger.item(message_edit={"mid": "m_ORIGINAL", "text": text, "num_edit": number})
            ]
        )

    result = messenger.parse_bytes(edit(1, "See you at 10"), tenants)
    assert result.problems == []
    [first] = result.events
    assert isinstance(first, MessageEditEvent)
    assert first.action is EditAction.EDIT
    assert first.target_provider_message_id == "m_ORIGINAL"
    assert first.content is not None
    assert first.content.text == "See you at 10"
    [again] = messenger.parse_bytes(edit(1, "See you at 10"), tenants).events
    [second] = messenger.parse_bytes(edit(2, "See you at 10:30"), tenants).events
    assert again.event_id == first.event_id
    assert second.event_id != first.event_id


def test_a_quoted_messenger_reply_names_its_target(tenants: TenantDirectory) -> None:
    message = {"mid": "m_REPLY", "text": "Yes", "reply_to": {"mid": "m_QUOTED"}}
    event = messenger.only_message(
        messenger.webhook(items=[messenger.item(message=message)]), tenants
    )
    assert event.content.reply_to_provider_message_id == "m_QUOTED"
