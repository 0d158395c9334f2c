"""Creating every topic Threadline uses, idempotently."""

import contextlib

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from clients import kafka
from clients.backoff import Backoff
from contracts import Settings


def topic_names(settings: Settings) -> list[str]:
    return [
        settings.topic_messages,
        settings.topic_statuses,
        settings.topic_bookings,
        settings.topic_ingest_deadletter,
        settings.topic_consumers_deadletter,
        settings.topic_media,
        settings.topic_outbound,
    ]


async def create_topics(settings: Settings, *, attempts: int = 30) -> list[str]:
    """Create the missing topics; returns the names created. Retries while Kafka starts."""
    client = kafka.admin(settings)
    backoff = Backoff(initial=1.0, maximum=1.0)
    for attempt in range(attempts):
        try:
            await client.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await backoff.wait()
    try:
        existing = set(await client.list_topics())
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
                await client.create_topics(new)
        return missing
    finally:
        await client.close()
