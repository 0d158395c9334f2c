"""Reading JSON request bodies: whatever a client sends is a client error when it cannot be
read, never a 500."""

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException


class GatewayRequest(Request[Any, Any, Any]):
    """A request whose JSON body, nested deeper than the decoder recurses, is a 400."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
