"""Fixtures of the consumer tests that publish records themselves."""

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from contracts import Settings


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A plain producer to the test's broker, for records the gateway would never send."""
    started = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await started.start()
    yield started
    await started.stop()
