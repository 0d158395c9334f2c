"""Reading request bodies: whatever a client sends, or fails to send, is a client error when
it cannot be read, never a 500."""

from collections.abc import AsyncGenerator
from typing import Any

import structlog
from litestar import Request
from litestar.exceptions import ClientException, InternalServerException

log = structlog.get_logger(__name__)

#: What Litestar says when the client goes away before its body is complete.
_DISCONNECTED = "client disconnected prematurely"


class ClientDisconnected(ClientException):
    """The client closed the connection before sending its whole body: nobody to answer."""


class GatewayRequest(Request[Any, Any, Any]):
    """A request whose JSON body, nested deeper than the decoder recurses, is a 400, and
    whose client went away mid-body is logged as such, not as a server error."""

    async def stream(self) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in super().stream():
                yield chunk
        except InternalServerException as error:
            if error.detail != _DISCONNECTED:
                raise
            log.info("client_disconnected", path=self.url.path)
            raise ClientDisconnected("the client went away before sending its body") from None

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
