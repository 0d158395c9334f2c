"""Refusing a Mailgun token used before, within its validity window, across gateway processes.

A request claims its token before anything is published, atomically: in this process by a
check-and-set that no other coroutine can interleave, across processes by an insert that a
unique key lets only one process win. Of any number of simultaneous copies of one signed
request, one is accepted.
"""

import time
from collections import OrderedDict

import structlog
from pymongo.errors import PyMongoError

from domain.store.webhook_tokens import WebhookTokens

log = structlog.get_logger(__name__)


class RecentTokens:
    """Tokens claimed in the last ``ttl`` seconds by this process."""

    def __init__(self, ttl: float, *, max_entries: int = 100_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._claimed: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._claimed:
            token, claimed_at = next(iter(self._claimed.items()))
            if now - claimed_at < self._ttl and len(self._claimed) <= self._max_entries:
                break
            del self._claimed[token]

    def claim(self, token: str) -> bool:
        """Take ``token``; False when this process took it within ``ttl``."""
        now = time.monotonic()
        self._expire(now)
        if token in self._claimed:
            return False
        self._claimed[token] = now
        return True

    def release(self, token: str) -> None:
        self._claimed.pop(token, None)


class UsedTokens:
    """Used tokens, claimed in MongoDB so every gateway replica refuses a token used twice.

    A request that is not accepted (its events could not be published: 503) releases its
    token, so the provider's retry with the same token is accepted. When MongoDB is
    unreachable the claim falls back to this process's memory: the signature and the
    timestamp window still hold, and refusing authentic mail because the token store is down
    would lose it.
    """

    PROVIDER = "mailgun"

    def __init__(self, shared: WebhookTokens | None, local: RecentTokens) -> None:
        self._shared = shared
        self._local = local
        self._indexed = False

    async def claim(self, token: str) -> bool:
        """Take ``token`` for this request; False when another request already has it."""
        if not self._local.claim(token):
            return False
        if self._shared is None:
            return True
        try:
            if not self._indexed:
                await self._shared.ensure_indexes()
                self._indexed = True
            return await self._shared.claim(self.PROVIDER, token)
        except PyMongoError as error:
            log.warning("used_token_store_unavailable", error=str(error))
            return True

    async def release(self, token: str) -> None:
        """Give ``token`` back: its request was not accepted, and may come again."""
        self._local.release(token)
        if self._shared is None:
            return
        try:
            await self._shared.release(self.PROVIDER, token)
        except PyMongoError as error:
            log.warning("used_token_store_unavailable", error=str(error))
