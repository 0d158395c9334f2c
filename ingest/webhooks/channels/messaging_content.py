"""What a Messenger or Instagram messaging item says: message, postback or reaction, as Content."""

from typing import Any

from contracts import (
    Attachment,
    AttachmentKind,
    Content,
    ContentType,
    Location,
    Reaction,
    Referral,
)
from ingest.webhooks.channels.meta import ItemError, as_dict, as_id, as_list, as_str

_KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "file": AttachmentKind.DOCUMENT,
    "location": AttachmentKind.LOCATION,
    "story_mention": AttachmentKind.STORY,
    "share": AttachmentKind.SHARE,
    "fallback": AttachmentKind.SHARE,
    "ig_reel": AttachmentKind.SHARE,
    "reel": AttachmentKind.SHARE,
    "ig_post": AttachmentKind.SHARE,
    # (v1.1) Messenger's own sticker type (earlier: ``image`` with ``payload.sticker_id``).
    "sticker": AttachmentKind.STICKER,
    # (v1.1) A shared Instagram story: its media is ``payload.story_media_url``.
    "ig_story": AttachmentKind.STORY,
    "story_share": AttachmentKind.STORY,
}

#: The content type a message takes from its first attachment; kinds not listed here
#: (shares, story mentions, templates) make it text when it has text, else unsupported.
_TYPES = {
    AttachmentKind.IMAGE: ContentType.IMAGE,
    AttachmentKind.VIDEO: ContentType.VIDEO,
    AttachmentKind.AUDIO: ContentType.AUDIO,
    AttachmentKind.DOCUMENT: ContentType.DOCUMENT,
    AttachmentKind.STICKER: ContentType.STICKER,
    AttachmentKind.LOCATION: ContentType.LOCATION,
}

#: Reaction names Meta sends beside (and, in old payloads, instead of) the emoji.
_REACTION_EMOJI = {
    "like": "\N{THUMBS UP SIGN}",
    "love": "\N{HEAVY BLACK HEART}",
    "smile": "\N{SMILING FACE WITH OPEN MOUTH AND TIGHTLY-CLOSED EYES}",
    "wow": "\N{FACE WITH OPEN MOUTH}",
    "sad": "\N{CRYING FACE}",
    "angry": "\N{ANGRY FACE}",
}


def message_content(message: dict[str, Any], item_referral: Any = None) -> Content:
    """The Content of a ``message`` object, echoes, unsends and story replies included."""
    text = as_str(message.get("text"))
    raw_attachments = [as_dict(attachment) for attachment in as_list(message.get("attachments"))]
    attachments = _distinct([_attachment(attachment) for attachment in raw_attachments])
    content_type = _content_type(message, text, attachments)
    reply_to = as_dict(message.get("reply_to"))
    story = as_dict(reply_to.get("story"))
    if story:
        attachments.append(
            Attachment(
                kind=AttachmentKind.STORY,
                url=as_str(story.get("url")),
                provider_media_id=as_id(story.get("id")),
            )
        )
    if text is None and content_type is ContentType.UNSUPPORTED and attachments:
        text = attachments[0].caption
    return Content(
        type=content_type,
        text=text,
        attachments=attachments,
        reply_to_provider_message_id=as_id(reply_to.get("mid")),
        payload=as_str(as_dict(message.get("quick_reply")).get("payload")),
        location=_location(raw_attachments),
        referral=_referral(message.get("referral") or item_referral),
        deleted=message.get("is_deleted") is True,
    )


def postback_content(postback: dict[str, Any], item_referral: Any = None) -> Content:
    """A tapped button: its title is what the customer saw, its payload what the bot set."""
    return Content(
        type=ContentType.BUTTON,
        text=as_str(postback.get("title")),
        payload=as_str(postback.get("payload")),
        referral=_referral(postback.get("referral") or item_referral),
    )


def reaction_content(reaction: dict[str, Any]) -> Content:
    """A reaction, or its removal (``action: unreact``) as an empty emoji."""
    target = as_id(reaction.get("mid"))
    if target is None:
        raise ItemError("reaction has no mid")
    if reaction.get("action") == "unreact":
        emoji = ""
    else:
        name = as_str(reaction.get("reaction"))
        # An unknown name is kept rather than dropped: "" would read as a removal.
        emoji = as_str(reaction.get("emoji")) or _REACTION_EMOJI.get(name or "") or name or ""
    return Content(
        type=ContentType.REACTION,
        text=emoji or None,
        reaction=Reaction(emoji=emoji, target_provider_message_id=target),
    )


def _attachment(attachment: dict[str, Any]) -> Attachment:
    payload = as_dict(attachment.get("payload"))
    kind = _KINDS.get(as_str(attachment.get("type")) or "", AttachmentKind.OTHER)
    sticker_id = as_id(payload.get("sticker_id"))
    if kind is AttachmentKind.IMAGE and sticker_id is not None:
        kind = AttachmentKind.STICKER
    return Attachment(
        kind=kind,
        provider_media_id=(
            sticker_id
            or as_id(payload.get("reel_video_id"))
            or as_id(payload.get("ig_post_media_id"))
            or as_id(payload.get("story_media_id"))
            or as_id(payload.get("attachment_id"))
        ),
        # Older fallback (shared link) attachments carry url and title beside the payload;
        # a shared story's media is at story_media_url.
        url=(
            as_str(payload.get("url"))
            or as_str(payload.get("story_media_url"))
            or as_str(attachment.get("url"))
        ),
        caption=as_str(payload.get("title")) or as_str(attachment.get("title")),
    )


def _distinct(attachments: list[Attachment]) -> list[Attachment]:
    """One attachment per media id: until 2026-08-30 Messenger sends a sticker twice (as
    ``image`` and as ``sticker``), and Instagram a shared post twice (``share``, ``ig_post``)."""
    seen: set[str] = set()
    kept: list[Attachment] = []
    for attachment in attachments:
        if attachment.provider_media_id:
            if attachment.provider_media_id in seen:
                continue
            seen.add(attachment.provider_media_id)
        kept.append(attachment)
    return kept


def _content_type(
    message: dict[str, Any], text: str | None, attachments: list[Attachment]
) -> ContentType:
    if message.get("is_unsupported") is True:
        return ContentType.UNSUPPORTED
    if attachments and attachments[0].kind in _TYPES:
        return _TYPES[attachments[0].kind]
    return ContentType.TEXT if text is not None else ContentType.UNSUPPORTED


def _location(attachments: list[dict[str, Any]]) -> Location | None:
    for attachment in attachments:
        if attachment.get("type") != "location":
            continue
        coordinates = as_dict(as_dict(attachment.get("payload")).get("coordinates"))
        if coordinates.get("lat") is None or coordinates.get("long") is None:
            continue
        return Location(
            latitude=coordinates["lat"],
            longitude=coordinates["long"],
            name=as_str(attachment.get("title")),
            url=as_str(attachment.get("url")),
        )
    return None


def _referral(value: Any) -> Referral | None:
    """Where the conversation came from: an m.me link's ``ref``, an ad, a plugin.

    Meta's ``type`` is always ``OPEN_THREAD`` and has no field of its own in the contract.
    """
    referral = as_dict(value)
    if not referral:
        return None
    return Referral(
        ref=as_str(referral.get("ref")),
        source_type=as_str(referral.get("source")),
        source_id=as_id(referral.get("ad_id")),
        source_url=as_str(referral.get("referer_uri")),
    )
