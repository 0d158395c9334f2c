"""``replay_tokens``: one-time tokens of signed webhooks already accepted, shared by every
gateway process (Mailgun signs a token that must never be accepted twice)."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import WebhookTokenDocument
from matchers import keys

#: The collection keeps its first name, so tokens remembered before an upgrade still count.
COLLECTION = "replay_tokens"


class WebhookTokens:
    """Tokens are keyed by ``{provider}:{token}`` and expire after ``ttl`` (a TTL index)."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]], ttl: timedelta) -> None:
        self._collection = cast("AsyncCollection[WebhookTokenDocument]", database[COLLECTION])
        self._ttl = ttl

    async def ensure_indexes(self) -> None:
        """The TTL index that forgets tokens once their signatures can no longer be valid."""
        await self._collection.create_index(
            "seen_at", expireAfterSeconds=int(self._ttl.total_seconds()), name="seen_at_ttl"
        )

    async def claim(self, provider: str, token: str) -> bool:
        """Record ``token`` as used; False when it already was (the unique id decides, so of
        concurrent claims exactly one wins)."""
        try:
            await self._collection.insert_one(
                {"_id": keys.webhook_token_id(provider, token), "seen_at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, provider: str, token: str) -> None:
        """Forget ``token``: the request that claimed it was not accepted."""
        await self._collection.delete_one({"_id": keys.webhook_token_id(provider, token)})
