"""Twilio inbound messages (SMS, MMS, WhatsApp) and status callbacks."""

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from contracts import Channel, Provider
from ingest.webhooks.channels import twilio
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
        """Verify against the tenant's auth token (found by AccountSid), then ingest."""
        raw = await read_request(request, Channel.SMS, Provider.TWILIO)
        tenant = twilio.find_tenant(raw.body, ingestor.tenants)
        token = tenant.twilio_auth_token if tenant else None
        url = _public_url(ingestor.settings.public_base_url, raw)
        if token is None or not twilio.verify(raw.body, raw.headers, url, token.get_secret_value()):
            raise refuse(raw, "missing or invalid X-Twilio-Signature")
        await ingest(ingestor, raw, twilio.parse)
        return Response(TWIML_EMPTY, status_code=200, media_type="text/xml")


def _public_url(base: str, raw: RawRequest) -> str:
    """The URL Twilio called: our public base URL, the path, and the query string."""
    url = base.rstrip("/") + raw.path
    return f"{url}?{raw.query_string}" if raw.query_string else url
