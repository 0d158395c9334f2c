"""WhatsApp, Instagram and Messenger webhooks: one Meta app signs all three."""

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency

from contracts import Channel, Provider
from ingest.errors import Forbidden
from ingest.webhooks.channels import meta
from ingest.webhooks.channels.parsers import PARSERS
from ingest.webhooks.pipeline import Ingestor, RawRequest
from ingest.webhooks.requests import ingest, read_request, refuse


class MetaWebhooks(Controller):
    path = "/webhooks"
    tags = ("webhooks",)
    include_in_schema = False

    @get(["/whatsapp", "/instagram", "/messenger"], media_type="text/plain")
    async def subscribe(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> str:
        """Meta's subscription handshake: echo ``hub.challenge`` when the token matches."""
        app = ingestor.tenants.config.meta
        query = {key: str(value) for key, value in request.query_params.items()}
        answer = (
            meta.verify_subscription(query, app.verify_token.get_secret_value()) if app else None
        )
        if answer is None:
            raise Forbidden("verification token mismatch")
        return answer

    @post("/whatsapp", status_code=200)
    async def whatsapp(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        return await _receive(request, ingestor, Channel.WHATSAPP)

    @post("/instagram", status_code=200)
    async def instagram(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        return await _receive(request, ingestor, Channel.INSTAGRAM)

    @post("/messenger", status_code=200)
    async def messenger(
        self, request: Request[Any, Any, Any], ingestor: NamedDependency[Ingestor]
    ) -> Response[Any]:
        return await _receive(request, ingestor, Channel.MESSENGER)


async def _receive(
    request: Request[Any, Any, Any], ingestor: Ingestor, channel: Channel
) -> Response[Any]:
    raw: RawRequest = await read_request(request, channel, Provider.META)
    app = ingestor.tenants.config.meta
    if app is None or not meta.verify(raw.body, raw.headers, app.app_secret.get_secret_value()):
        raise refuse(raw, "missing or invalid X-Hub-Signature-256")
    outcome = await ingest(ingestor, raw, PARSERS[channel, Provider.META])
    return Response({"accepted": outcome.events}, status_code=200)
