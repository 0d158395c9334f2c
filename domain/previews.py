"""What a chat list shows of a message: one line of at most 140 characters."""

from contracts import Content

PREVIEW_LENGTH = 140
#: What a chat list shows for a message its sender unsent.
DELETED_PREVIEW = "Message deleted"


def content_preview(content: Content) -> str:
    """At most 140 characters a chat list can show for any message."""
    if content.reaction is not None:
        text = (
            f"Reacted {content.reaction.emoji}" if content.reaction.emoji else "Removed a reaction"
        )
    else:
        text = content.text or content.subject or ""
        if not text and content.attachments:
            text = f"[{content.attachments[0].kind}]"
        if not text:
            text = f"[{content.type}]"
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"
