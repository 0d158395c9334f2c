"""Kafka clients, built one way for every process: producers, consumers and admin clients.

Every producer waits for all in-sync replicas (``acks=all``) and may send the largest record
the gateway accepts; callers add only what is particular to them (a client id, batching,
timeouts, a consumer group).
"""

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import Settings

#: A record as a consumer reads it (aiokafka ships no type information).
ConsumedRecord: TypeAlias = ConsumerRecord


def producer(settings: Settings, *, client_id: str, **options: Any) -> AIOKafkaProducer:
    """A producer acknowledged by every in-sync replica."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.kafka_max_request_bytes,
        **options,
    )


def consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer that commits nothing by itself: offsets are committed after the writes."""
    return AIOKafkaConsumer(
        *topics, bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, **options
    )


def admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)


async def read_topic(settings: Settings, topic: str) -> AsyncIterator[ConsumedRecord]:
    """Every record on ``topic`` from the beginning up to its end when we started reading.

    No consumer group: reading commits nothing and disturbs no worker.
    """
    reader = consumer(
        settings,
        max_partition_fetch_bytes=settings.kafka_max_request_bytes,
        fetch_max_bytes=settings.kafka_max_request_bytes,
    )
    await reader.start()
    try:
        await reader.topics()  # fresh metadata from the cluster
        numbers = reader.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        if not partitions:
            return
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await reader.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < remaining.get(tp, 0):
                        yield record
                if tp in remaining and await reader.position(tp) >= remaining[tp]:
                    del remaining[tp]
    finally:
        await reader.stop()
