"""``/v1/messages``: messages across every thread of the tenant (v1.1 search)."""

from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from contracts import Channel, Tenant
from domain.documents import MessageDocument
from domain.store.database import Store
from domain.store.search import words
from ingest.api.cursors import Cursors
from ingest.api.inbox import media_of, quoted_messages
from ingest.api.schemas.errors import errors
from ingest.api.schemas.threads import Message, MessageSearchPage
from ingest.api.threads import Limit
from ingest.errors import BadRequest

#: Above every message id: a position just after every message of an instant.
_PAST_EVERY_ID = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class _Filters:
    channel: str | None
    customer_id: str | None

    def matches(self, message: MessageDocument) -> bool:
        return (self.channel is None or message["channel"] == self.channel) and (
            self.customer_id is None or message.get("customer_id") == self.customer_id
        )


class MessagesApi(Controller):
    path = "/v1/messages"
    tags = ("messages",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get("/search", responses=errors(400))
    async def search(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        cursors: NamedDependency[Cursors],
        q: Annotated[str, QueryParameter(description="words, any order; accents, case ignored")],
        channel: Annotated[Channel | None, QueryParameter()] = None,
        customer_id: Annotated[str | None, QueryParameter()] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="occurred at or after")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="occurred at or before")
        ] = None,
        limit: Limit = 50,
        cursor: Annotated[str | None, QueryParameter()] = None,
    ) -> MessageSearchPage:
        """(v1.1) The tenant's messages whose text or subject has every word of ``q``, newest
        first, each as ``/messages`` gives it (with its ``thread_id``)."""
        wanted = words(q)
        if not wanted:
            raise BadRequest(
                "q has no words", details=[{"field": "q", "message": "must contain a word"}]
            )
        since, until = _utc(since), _utc(until)
        below = None
        if cursor is not None:
            fields = cursors.decode(cursor, times=("at",), texts=("message",))
            below = (fields["at"], fields["message"])
        if below is None and until is not None:
            below = (until, _PAST_EVERY_ID)
        filters = _Filters(str(channel) if channel else None, customer_id)
        found: list[MessageDocument] = []
        async with aclosing(store.messages.searching(tenant.id, wanted, below=below)) as matches:
            async for message in matches:
                if since is not None and message["occurred_at"] < since:
                    break
                if filters.matches(message):
                    found.append(message)
                    if len(found) > limit:
                        break
        page = found[:limit]
        next_cursor = None
        if len(found) > limit and page:
            last = page[-1]
            next_cursor = cursors.encode({"at": last["occurred_at"], "message": last["_id"]})
        quoted = await quoted_messages(store, tenant.id, page)
        media = await media_of(store, page)
        items = [Message.from_document(m, quoted.get(_quoted_id(m)), media) for m in page]
        return MessageSearchPage(items=items, next_cursor=next_cursor)


def _quoted_id(message: MessageDocument) -> str:
    target = message["content"].get("reply_to_provider_message_id")
    return target if isinstance(target, str) else ""


def _utc(value: datetime | None) -> datetime | None:
    """A time given without an offset is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
