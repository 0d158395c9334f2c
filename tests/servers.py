"""The real Kafka and MongoDB servers the integration tests run against.

In order of preference: servers named by ``THREADLINE_TEST_KAFKA_BOOTSTRAP`` and
``THREADLINE_TEST_MONGO_URI``; real Apache Kafka and MongoDB through testcontainers when a
Docker engine answers; otherwise the embedded tansu broker and SecantusDB.
"""

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    mongo_uri: str
    kind: str


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _containers() -> Iterator[Servers]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer().with_kraft() as kafka, MongoDbContainer("mongo:8") as mongo:
        yield Servers(
            kafka_bootstrap=kafka.get_bootstrap_server(),
            mongo_uri=mongo.get_connection_url() + "/?directConnection=true",
            kind="testcontainers",
        )


@contextlib.contextmanager
def _embedded() -> Iterator[Servers]:
    from devstack import EmbeddedKafka, EmbeddedMongo, running

    kafka, mongo = EmbeddedKafka(), EmbeddedMongo()
    with running(kafka, mongo):
        yield Servers(kafka_bootstrap=kafka.bootstrap, mongo_uri=mongo.uri, kind="embedded")


@contextlib.contextmanager
def start_servers() -> Iterator[Servers]:
    kafka = os.environ.get("THREADLINE_TEST_KAFKA_BOOTSTRAP")
    mongo = os.environ.get("THREADLINE_TEST_MONGO_URI")
    if kafka and mongo:
        yield Servers(kafka_bootstrap=kafka, mongo_uri=mongo, kind="external")
    elif _docker_available():
        with _containers() as servers:
            yield servers
    else:
        with _embedded() as servers:
            yield servers
