"""Instagram Messaging webhooks (``object: instagram``), routed by Instagram account id."""

from contracts import Channel, TenantDirectory
from ingest.webhooks.channels.base import Headers, ParseContext, ParseResult
from ingest.webhooks.channels.messaging import MessagingChannel, parse_messaging

INSTAGRAM = MessagingChannel(
    channel=Channel.INSTAGRAM,
    object="instagram",
    account_name="Instagram account id",
    find_tenant=TenantDirectory.by_instagram_account_id,
)


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """Every message, echo, reaction and seen receipt in an Instagram webhook.

    Comments and mentions (``entry[].changes[]``) are not messages; they come back as
    problems so the request is kept in the dead-letter topic.
    """
    return parse_messaging(raw, context, INSTAGRAM)
