"""Refusing a reused Mailgun token within its validity window."""

import time
from collections import OrderedDict


class TokenCache:
    """Tokens seen in the last ``ttl`` seconds, in this process.

    A token is remembered only once its request was published, so a delivery that failed
    with 503 can be retried by the provider with the same token.
    """

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
        now = time.monotonic()
        self._expire(now)
        return token in self._seen

    def remember(self, token: str) -> None:
        self._seen[token] = time.monotonic()
        self._seen.move_to_end(token)
