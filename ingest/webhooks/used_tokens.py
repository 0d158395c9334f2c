"""Refusing a Mailgun token used before, within its validity window, across gateway processes."""

import time
from collections import OrderedDict

import structlog
from pymongo.errors import PyMongoError

from domain.store.webhook_tokens import WebhookTokens

log = structlog.get_logger(__name__)


class RecentTokens:
    """Tokens seen in the last ``ttl`` seconds by this process."""

    def __init__(self, ttl: float, *, max_entries: int = 100_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            token, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self._ttl and len(self._seen) <= self._max_entries:
                break
            del self._seen[token]

    def seen(self, token: str) -> bool:
        self._expire(time.monotonic())
        return token in self._seen

    def remember(self, token: str) -> None:
        self._seen[token] = time.monotonic()
        self._seen.move_to_end(token)


class UsedTokens:
    """Used tokens, remembered in MongoDB so every gateway replica refuses a token used twice.

    A token is remembered only once its request was published, so a delivery answered 503
    can be retried with the same token. When MongoDB is unreachable the guard falls back to
    this process's memory: the signature and the timestamp window still hold, and refusing
    authentic mail because a replay store is down would lose it.
    """

    PROVIDER = "mailgun"

    def __init__(self, shared: WebhookTokens | None, local: RecentTokens) -> None:
        self._shared = shared
        self._local = local
        self._indexed = False

    async def seen(self, token: str) -> bool:
        if self._local.seen(token):
            return True
        if self._shared is None:
            return False
        try:
            return await self._shared.seen(self.PROVIDER, token)
        except PyMongoError as error:
            log.warning("replay_store_unavailable", error=str(error))
            return False

    async def remember(self, token: str) -> None:
        self._local.remember(token)
        if self._shared is None:
            return
        try:
            if not self._indexed:
                await self._shared.ensure_indexes()
                self._indexed = True
            await self._shared.remember(self.PROVIDER, token)
        except PyMongoError as error:
            log.warning("replay_store_unavailable", error=str(error))
