"""``/health``, ``/ready`` and ``/metrics``."""

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clients.mongo import misconfiguration
from contracts import Settings
from ingest import metrics
from ingest.webhooks.publisher import Publisher


class Operations(Controller):
    tags = ("operations",)

    @get("/health")
    async def health(self) -> dict[str, str]:
        """The process is alive and serving HTTP."""
        return {"status": "ok"}

    @get("/ready")
    async def ready(
        self,
        publisher: NamedDependency[Publisher],
        mongo: NamedDependency[AsyncMongoClient[dict[str, Any]]],
        settings: NamedDependency[Settings],
    ) -> Response[dict[str, Any]]:
        """Kafka and MongoDB both answer: 200; otherwise 503 naming what is down."""
        kafka_ok, (mongo_ok, mongo_wrong) = await asyncio.gather(
            publisher.ping(), _ping_mongo(mongo, settings.ready_timeout.total_seconds())
        )
        checks = {"kafka": "ok" if kafka_ok else "down", "mongodb": "ok" if mongo_ok else "down"}
        if mongo_wrong:
            checks["mongodb"] = f"misconfigured: {mongo_wrong}"
        if misconfigured := getattr(publisher, "misconfigured", None):
            checks["kafka"] = f"misconfigured: {misconfigured}"
        ready = kafka_ok and mongo_ok
        return Response(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @get("/metrics", media_type=metrics.CONTENT_TYPE, include_in_schema=False)
    async def metrics(self) -> bytes:
        """Prometheus exposition of this process (or of all workers)."""
        return metrics.render()


async def _ping_mongo(
    client: AsyncMongoClient[dict[str, Any]], within: float
) -> tuple[bool, str | None]:
    """Whether MongoDB answers, and why ``MONGO_URI`` cannot work when that is the reason."""
    try:
        # Connecting logs in first: refused credentials fail the ping too.
        await asyncio.wait_for(client.admin.command("ping"), within)
    except TimeoutError:
        return False, None
    except PyMongoError as error:
        return False, misconfiguration(error)
    return True, None
