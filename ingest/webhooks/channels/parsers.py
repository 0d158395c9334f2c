"""Which adapter parses the requests of each channel and provider, for routes and replays."""

from contracts import Channel, Provider
from ingest.webhooks.channels import (
    instagram,
    mailgun,
    messenger,
    postmark,
    sendgrid,
    twilio,
    whatsapp,
)
from ingest.webhooks.channels.base import Parser

#: By the (channel, provider) a route records on its requests and dead letters.
PARSERS: dict[tuple[str, str], Parser] = {
    (Channel.WHATSAPP, Provider.META): whatsapp.parse,
    (Channel.INSTAGRAM, Provider.META): instagram.parse,
    (Channel.MESSENGER, Provider.META): messenger.parse,
    (Channel.SMS, Provider.TWILIO): twilio.parse,
    (Channel.EMAIL, Provider.MAILGUN): mailgun.parse,
    (Channel.EMAIL, Provider.SENDGRID): sendgrid.parse,
    (Channel.EMAIL, Provider.POSTMARK): postmark.parse,
}
