"""``identity_claims``: one document per identifier a customer owns, unique per tenant.

Creating a customer first claims its identifiers here, in sorted order. A unique index on the
key makes two consumers creating the same new customer at once converge: the loser finds the
winner's claim and adopts that customer instead of making a second one.
"""

from typing import Any, cast

from pymongo import UpdateMany
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from domain.documents import IdentityClaimDocument, Query
from domain.store.writes import insert_missing
from matchers import keys

COLLECTION = "identity_claims"


class IdentityClaims:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = cast("AsyncCollection[IdentityClaimDocument]", database[COLLECTION])

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("tenant_id", 1), ("customer_id", 1)])

    async def claim_for_new(self, tenant_id: str, identifiers: list[str], customer_id: str) -> str:
        """Claim ``identifiers`` for a customer about to be created; return who owns them.

        Returns ``customer_id`` when every claim was ours, or the id of the customer that
        already owned one (our claims then move to it, so nothing points at a customer that
        will never exist).
        """
        for identifier in sorted(set(identifiers)):
            key = keys.claim_id(tenant_id, identifier)
            try:
                await self._collection.insert_one(
                    {"_id": key, "tenant_id": tenant_id, "customer_id": customer_id}
                )
            except DuplicateKeyError:
                owner = await self._collection.find_one({"_id": key}, {"customer_id": 1})
                if owner is None or owner["customer_id"] == customer_id:
                    continue
                owner_id: str = owner["customer_id"]
                await self._collection.update_many(
                    {"tenant_id": tenant_id, "customer_id": customer_id},
                    {"$set": {"customer_id": owner_id}},
                )
                return owner_id
        return customer_id

    async def claim_for_many_new(
        self, tenant_id: str, created: dict[str, list[str]]
    ) -> dict[str, str]:
        """``claim_for_new`` for several new customers (customer: claim keys) at once: each
        customer's keys in sorted order, one write per key position, a customer stopping at
        its first key owned already. Returns the customers so stopped, each with the owner of
        that key (whose id it is to take, as ``claim_for_new`` would).

        Taking every customer's keys in the same order, and stopping at the first owned one,
        is what keeps two creators of one person from each taking a key the other wants and
        each adopting the other.
        """
        ordered = {customer: sorted(set(claims)) for customer, claims in created.items()}
        stopped: dict[str, str] = {}
        for position in range(max((len(claims) for claims in ordered.values()), default=0)):
            wanted = {
                keys.claim_id(tenant_id, claims[position]): customer
                for customer, claims in sorted(ordered.items())
                if position < len(claims) and customer not in stopped
            }
            documents: list[IdentityClaimDocument] = [
                {"_id": claim, "tenant_id": tenant_id, "customer_id": customer}
                for claim, customer in wanted.items()
            ]
            taken = await insert_missing(self._collection, documents)
            if not taken:
                continue
            async for claim in self._collection.find({"_id": {"$in": sorted(taken)}}):
                if claim["customer_id"] != wanted[claim["_id"]]:
                    stopped[wanted[claim["_id"]]] = claim["customer_id"]
        return stopped

    async def move_many(self, tenant_id: str, moves: dict[str, str]) -> None:
        """``move`` for several customers (source: target) in one write."""
        await self._collection.bulk_write(
            [
                UpdateMany(
                    {"tenant_id": tenant_id, "customer_id": source},
                    {"$set": {"customer_id": target}},
                )
                for source, target in sorted(moves.items())
            ],
            ordered=False,
        )

    async def claim_more(self, tenant_id: str, gained: dict[str, list[str]]) -> None:
        """Record the identifiers existing customers gained (customer: claim keys), in one
        write; ones owned elsewhere stay there."""
        await insert_missing(self._collection, _claims(tenant_id, gained))

    async def move(self, tenant_id: str, source: str, target: str) -> None:
        await self._collection.update_many(
            {"tenant_id": tenant_id, "customer_id": source}, {"$set": {"customer_id": target}}
        )

    async def release(
        self, tenant_id: str, customer_id: str, identifiers: list[str] | None = None
    ) -> None:
        """Forget the customer's claims on ``identifiers`` (all of them when None), so a new
        profile may take them."""
        query: Query = {"tenant_id": tenant_id, "customer_id": customer_id}
        if identifiers is not None:
            query["_id"] = {"$in": [keys.claim_id(tenant_id, item) for item in identifiers]}
        await self._collection.delete_many(query)


def _claims(tenant_id: str, owners: dict[str, list[str]]) -> list[IdentityClaimDocument]:
    return [
        {"_id": keys.claim_id(tenant_id, claim), "tenant_id": tenant_id, "customer_id": owner}
        for owner, wanted in sorted(owners.items())
        for claim in sorted(set(wanted))
    ]
