"""Inbound email from Mailgun routes, SendGrid Inbound Parse and Postmark."""

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from contracts import Channel, Provider
from ingest.webhooks.channels import email, mailgun, postmark, sendgrid
from ingest.webhooks.pipeline import Ingestor, RawRequest
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
        """SendGrid Inbound Parse, parsed or raw MIME, behind HTTP Basic; a request for a tenant
        with a ``sendgrid_public_key`` must also carry SendGrid's signature for that key."""
        raw = await read_request(request, Channel.EMAIL, Provider.SENDGRID)
        _require_basic_auth(raw, ingestor)
        keys = sendgrid.signing_keys(raw.body, raw.headers, ingestor.tenants)
        if not all(sendgrid.verify(raw.body, raw.headers, key) for key in keys):
            if not all(sendgrid.is_public_key(key) for key in keys):
                raise refuse(raw, "a tenant's sendgrid_public_key is not a P-256 public key")
            raise refuse(raw, "missing or invalid SendGrid signature for the tenant's public key")
        outcome = await ingest(ingestor, raw, sendgrid.parse)
        return Response({"accepted": outcome.events}, status_code=200)

    @post("/postmark", status_code=200)
    async def postmark(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        """Postmark inbound JSON, behind HTTP Basic."""
        raw = await read_request(request, Channel.EMAIL, Provider.POSTMARK)
        _require_basic_auth(raw, ingestor)
        outcome = await ingest(ingestor, raw, postmark.parse)
        return Response({"accepted": outcome.events}, status_code=200)


def _require_basic_auth(raw: RawRequest, ingestor: Ingestor) -> None:
    """Refuse (401) a request without the ``[email]`` section's Basic credentials."""
    config = ingestor.tenants.config.email
    if config is None or not email.verify_basic_auth(
        raw.headers, config.basic_auth.get_secret_value()
    ):
        raise refuse(raw, "missing or invalid HTTP Basic credentials")
