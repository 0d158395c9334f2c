"""Kafka clients, built one way for every process: producers, consumers and admin clients.

Every producer waits for all in-sync replicas (``acks=all``) and may send the largest record
the gateway accepts; callers add only what is particular to them (a client id, batching,
timeouts, a consumer group).
"""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import Settings

#: A record as a consumer reads it (aiokafka ships no type information).
ConsumedRecord: TypeAlias = ConsumerRecord


class KafkaConfigurationError(Exception):
    """The Kafka settings cannot work (a certificate that does not verify, a key that does not
    load): waiting will not help. The message names the setting."""


def producer(settings: Settings, *, client_id: str, **options: Any) -> AIOKafkaProducer:
    """A producer acknowledged by every in-sync replica."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.kafka_max_request_bytes,
        **security(settings),
        **options,
    )


def consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer that commits nothing by itself: offsets are committed after the writes."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        **security(settings),
        **options,
    )


def admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **security(settings))


def security(settings: Settings) -> dict[str, Any]:
    """The options every client connects with: the security protocol, TLS, the SASL login."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = tls_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of ``KAFKA_SSL_*``: the brokers' CA (the system's when unset), and the
    client certificate when given; verifying the brokers' names."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file else None
        )
    except (ssl.SSLError, OSError) as error:
        raise KafkaConfigurationError(
            f"THREADLINE_KAFKA_SSL_CA_FILE does not hold a CA certificate: {error}"
        ) from error
    if settings.kafka_ssl_cert_file and settings.kafka_ssl_key_file:
        try:
            context.load_cert_chain(settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)
        except (ssl.SSLError, OSError) as error:
            raise KafkaConfigurationError(
                "THREADLINE_KAFKA_SSL_CERT_FILE and THREADLINE_KAFKA_SSL_KEY_FILE do not load "
                f"as a certificate and its key: {error}"
            ) from error
    return context


async def check_tls(settings: Settings) -> None:
    """Raise KafkaConfigurationError when a bootstrap broker's certificate does not verify
    against ``KAFKA_SSL_CA_FILE``; a broker that cannot be reached is an outage, not this."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return
    context = tls_context(settings)
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port), ssl=context),
                settings.ready_timeout.total_seconds(),
            )
        except ssl.SSLError as error:
            # (Event loops differ in the subclass they raise.)
            if "CERTIFICATE_VERIFY_FAILED" in str(error):
                raise KafkaConfigurationError(
                    f"the certificate of Kafka broker {server} does not verify against "
                    f"THREADLINE_KAFKA_SSL_CA_FILE ({settings.kafka_ssl_ca_file or 'system CAs'})"
                    f": {error}"
                ) from error
            raise KafkaConfigurationError(
                f"no TLS handshake with Kafka broker {server}; does it serve "
                f"THREADLINE_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}? {error}"
            ) from error
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


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
