"""The repositories over one database, and their indexes."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase

from domain.store.bookings import Bookings
from domain.store.consents import ConsentEvents
from domain.store.customers import Customers
from domain.store.edits import MessageEdits
from domain.store.identity_claims import IdentityClaims
from domain.store.media import Media
from domain.store.messages import COLLECTION as MESSAGES
from domain.store.messages import Messages
from domain.store.outbound import Outbound
from domain.store.pending_statuses import PendingStatuses
from domain.store.threads import COLLECTION as THREADS
from domain.store.threads import Threads


@dataclass(frozen=True)
class Store:
    database: AsyncDatabase[dict[str, Any]]
    customers: Customers
    bookings: Bookings
    claims: IdentityClaims
    threads: Threads
    messages: Messages
    pending_statuses: PendingStatuses
    edits: MessageEdits
    consents: ConsentEvents
    media: Media
    outbound: Outbound

    @classmethod
    def open(cls, client: AsyncMongoClient[dict[str, Any]], name: str) -> "Store":
        database = client[name]
        return cls(
            database=database,
            customers=Customers(database),
            bookings=Bookings(database),
            claims=IdentityClaims(database),
            threads=Threads(database),
            messages=Messages(database),
            pending_statuses=PendingStatuses(database),
            edits=MessageEdits(database),
            consents=ConsentEvents(database),
            media=Media(database),
            outbound=Outbound(database),
        )

    async def ensure_indexes(self) -> None:
        """Create every index, idempotently; safe to run at every start."""
        await self.customers.ensure_indexes()
        await self.bookings.ensure_indexes()
        await self.claims.ensure_indexes()
        await self.threads.ensure_indexes()
        await self.messages.ensure_indexes()
        await self.pending_statuses.ensure_indexes()
        await self.edits.ensure_indexes()
        await self.consents.ensure_indexes()
        await self.media.ensure_indexes()
        await self.outbound.ensure_indexes()

    async def changes(
        self, tenant_id: str | None, resume_after: dict[str, Any] | None, max_await: float
    ) -> AsyncChangeStream[dict[str, Any]]:
        """New and changed threads and messages (of one tenant, or of all), as a change
        stream resumable from any process: the token is the cluster's, not ours."""
        match: dict[str, Any] = {
            "ns.coll": {"$in": [THREADS, MESSAGES]},
            "operationType": {"$in": ["insert", "update", "replace"]},
        }
        if tenant_id is not None:
            match["fullDocument.tenant_id"] = tenant_id
        pipeline = [{"$match": match}]
        return await self.database.watch(
            pipeline,
            full_document="updateLookup",
            resume_after=resume_after,
            max_await_time_ms=int(max_await * 1000),
        )
