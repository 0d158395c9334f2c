"""Creating the topics SPEC names, idempotently."""

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from contracts import Settings


def topic_names(settings: Settings) -> list[str]:
    return [
        settings.topic_messages,
        settings.topic_statuses,
        settings.topic_bookings,
        settings.topic_ingest_deadletter,
        settings.topic_consumers_deadletter,
    ]


async def create_topics(settings: Settings, *, attempts: int = 30) -> list[str]:
    """Create the missing topics; returns the names created. Retries while Kafka starts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        # Dead letters keep whole requests (emails up to 30 MiB), and an email's text travels
        # in its message event: let those topics take what the producer may send.
        big = {"max.message.bytes": str(settings.kafka_max_request_bytes)}
        large = {settings.topic_ingest_deadletter, settings.topic_messages}
        new = [
            NewTopic(
                name,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=big if name in large else {},
            )
            for name in missing
        ]
        if new:
            # Another process may create them between our listing and our request.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()
