"""Messenger Platform webhooks (``object: page``), routed to tenants by page id."""

from contracts import Channel, TenantDirectory
from ingest.webhooks.channels.base import Headers, ParseContext, ParseResult
from ingest.webhooks.channels.messaging import MessagingChannel, parse_messaging

MESSENGER = MessagingChannel(
    channel=Channel.MESSENGER,
    object="page",
    account_name="Messenger page id",
    find_tenant=TenantDirectory.by_messenger_page_id,
)


def parse(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
    """Every message, echo, postback, reaction and receipt in a Messenger webhook."""
    return parse_messaging(raw, context, MESSENGER)
