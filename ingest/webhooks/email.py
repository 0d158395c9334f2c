"""Inbound email from Mailgun routes, SendGrid Inbound Parse and Postmark."""

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from contracts import Channel, Provider
from ingest.webhooks.channels import email, mailgun, postmark, sendgrid
from ingest.webhooks.channels.base import Parser
from ingest.webhooks.pipeline import Ingestor
from ingest.webhooks.requests import ingest, read_request, refuse
from ingest.webhooks.used_tokens import UsedTokens


class EmailWebhooks(Controller):
    path = "/webhooks/email"
    tags = ("webhooks",)
    include_in_schema = False

    @post("/mailgun", status_code=200)
    async def mailgun(
        self,
        request: Request[Any, Any, Any],
        ingestor: NamedDependency[Ingestor],
        mailgun_tokens: NamedDependency[UsedTokens],
    ) -> Response[Any]:
        """Mailgun signs ``timestamp + token``; a stale timestamp or a reused token is refused."""
        raw = await read_request(request, Channel.EMAIL, Provider.MAILGUN)
        config = ingestor.tenants.config.mailgun
        settings = ingestor.settings
        if config is None or not mailgun.verify(
            raw.body,
            raw.headers,
            config.signing_key.get_secret_value(),
            datetime.now(UTC),
            settings.mailgun_max_age,
        ):
            raise refuse(raw, "missing, invalid or expired Mailgun signature")
        token = mailgun.token(raw.body, raw.headers)
        if token is None or not await mailgun_tokens.claim(token):
            raise refuse(raw, "Mailgun token already used")
        try:
            outcome = await ingest(ingestor, raw, mailgun.parse)
        except BaseException:
            # Not accepted: Mailgun retries with the same token, which must then pass.
            await mailgun_tokens.release(token)
            raise
        return Response({"accepted": outcome.events}, status_code=200)

    @post("/sendgrid", status_code=200)
    async def sendgrid(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        """SendGrid Inbound Parse, parsed or raw MIME, behind HTTP Basic."""
        return await _basic_auth_email(request, ingestor, Provider.SENDGRID, sendgrid.parse)

    @post("/postmark", status_code=200)
    async def postmark(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        """Postmark inbound JSON, behind HTTP Basic."""
        return await _basic_auth_email(request, ingestor, Provider.POSTMARK, postmark.parse)


async def _basic_auth_email(
    request: Request[Any, Any, Any],
    ingestor: NamedDependency[Ingestor],
    provider: Provider,
    parse: Parser,
) -> Response[Any]:
    raw = await read_request(request, Channel.EMAIL, provider)
    config = ingestor.tenants.config.email
    if config is None or not email.verify_basic_auth(
        raw.headers, config.basic_auth.get_secret_value()
    ):
        raise refuse(raw, "missing or invalid HTTP Basic credentials")
    outcome = await ingest(ingestor, raw, parse)
    return Response({"accepted": outcome.events}, status_code=200)
