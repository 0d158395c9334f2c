"""Twilio inbound messages (SMS, MMS, WhatsApp) and status callbacks."""

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from pydantic import SecretStr

from contracts import Channel, Provider
from ingest.webhooks.channels import twilio, twilio_signing
from ingest.webhooks.pipeline import Ingestor, RawRequest
from ingest.webhooks.requests import ingest, read_request, refuse

TWIML_EMPTY = "<Response/>"


class TwilioWebhooks(Controller):
    path = "/webhooks/sms"
    tags = ("webhooks",)
    include_in_schema = False

    @post("/twilio", status_code=200, media_type="text/xml")
    async def twilio(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[str]:
        """Verify against the secrets of the tenant the request names (by AccountSid,
        Messaging Service or number), then ingest."""
        raw = await read_request(request, Channel.SMS, Provider.TWILIO)
        tenant = twilio.find_tenant(raw.body, ingestor.tenants)
        url = _public_url(ingestor.settings.public_base_url, raw)
        # One reason for every refusal, so the answer does not tell which numbers, accounts or
        # Messaging Services are a tenant's.
        if tenant is None or not twilio_signing.verify(
            raw.body,
            raw.headers,
            url,
            _secret(tenant.twilio_auth_token),
            _secret(tenant.twilio_webhook_signing_key),
        ):
            raise refuse(raw, "missing or invalid X-Twilio-Signature")
        await ingest(ingestor, raw, twilio.parse)
        return Response(TWIML_EMPTY, status_code=200, media_type="text/xml")


def _public_url(base: str, raw: RawRequest) -> str:
    """The URL Twilio called: our public base URL, the path, and the query string."""
    url = base.rstrip("/") + raw.path
    return f"{url}?{raw.query_string}" if raw.query_string else url


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
