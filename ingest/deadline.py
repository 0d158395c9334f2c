"""A deadline on the database work of one read API request."""

import pymongo
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send


class DatabaseDeadlineMiddleware:
    """Every MongoDB operation of the request shares one deadline of ``seconds``; past it
    the driver raises a timeout error, answered 503 (``ingest.errors``)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # ``pymongo.timeout`` lives in a context variable: it covers this request's task only.
        with pymongo.timeout(self.seconds):
            await self.app(scope, receive, send)
