"""Kafka over TLS and MongoDB over TLS with a login: every Kafka client the one factory builds
(admin, producer, consumer), the gateway and a worker connect only that way, carrying a webhook
to a stored message; a certificate that does not verify, or a password refused, is reported
naming the setting.

tansu 0.6.0 cannot serve TLS itself, so the broker advertises the port of a TLS-terminating
proxy in front of it (``tests.relay.Relay`` with a server context). SecantusDB serves TLS and
SCRAM logins itself. The CA and the certificates are made for the test module with trustme.
"""

import asyncio
import json
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from devstack import EmbeddedKafka, EmbeddedMongo, free_port
from pymongo import AsyncMongoClient

from clients import kafka
from contracts import Settings
from ingest.topics import create_topics
from tests.integration.processes import environment, start_consumer, start_gateway
from tests.relay import relay_to
from tests.signing import meta_signature, whatsapp_text_payload
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A broker of its own, advertising the port its TLS proxy will listen on."""
    server = EmbeddedKafka(advertised_port=free_port(), log=tmp_path / "kafka.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def tls_settings(
    settings: Settings, broker: EmbeddedKafka, authority: trustme.CA, tmp_path: Path
) -> AsyncIterator[Settings]:
    """The test's settings pointed at the broker through its TLS proxy, trusting its CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "kafka-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    async with relay_to(broker.port, broker.advertised_port, tls=context) as proxy:
        yield settings.model_copy(
            update={
                "kafka_bootstrap": proxy.address,
                "kafka_security_protocol": "SSL",
                "kafka_ssl_ca_file": ca_file,
            }
        )


async def _post_whatsapp(http: httpx.AsyncClient, prefix: str) -> httpx.Response:
    body = whatsapp_text_payload(wamid_prefix=prefix)
    return await http.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )


async def test_every_client_connects_over_tls(tls_settings: Settings) -> None:
    """Topics are created, a record produced and read back, all through the TLS proxy."""
    await create_topics(tls_settings)
    producer = kafka.producer(tls_settings, client_id="tls-test")
    await producer.start()
    try:
        await producer.send_and_wait(tls_settings.topic_bookings, b"over tls", key=b"k")
    finally:
        await producer.stop()
    values = [
        record.value async for record in kafka.read_topic(tls_settings, tls_settings.topic_bookings)
    ]
    assert values == [b"over tls"]


async def test_the_gateway_publishes_a_webhook_over_tls(
    tls_settings: Settings, tmp_path: Path
) -> None:
    """A signed webhook to the gateway process is answered 200 and is on the topic, with the
    gateway's producer connected only through TLS."""
    await create_topics(tls_settings)
    gateway, url = await asyncio.to_thread(start_gateway, tls_settings, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answer = await _post_whatsapp(http, "wamid.TLS")
            assert answer.status_code == 200, answer.text
            ready = await http.get("/ready")
            assert ready.json()["checks"]["kafka"] == "ok"
    finally:
        gateway.stop()
    records = [
        json.loads(record.value or b"{}")
        async for record in kafka.read_topic(tls_settings, tls_settings.topic_messages)
    ]
    assert [r["provider_message_id"] for r in records] == ["wamid.TLS.0.0"]


async def test_a_certificate_from_another_ca_is_a_configuration_error(
    tls_settings: Settings, tmp_path: Path
) -> None:
    """Trusting the wrong CA is reported as such, naming the setting, not waited out as an
    outage: a command exits 2 saying so, and the gateway's /ready says so."""
    wrong = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong))
    misled = tls_settings.model_copy(update={"kafka_ssl_ca_file": wrong})
    with pytest.raises(kafka.KafkaConfigurationError, match="THREADLINE_KAFKA_SSL_CA_FILE"):
        await kafka.check_tls(misled)
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ingest",
        "create-topics",
        env=environment(misled),
        stderr=asyncio.subprocess.PIPE,
    )
    _, said = await asyncio.wait_for(command.communicate(), 60)
    assert command.returncode == 2
    assert b"THREADLINE_KAFKA_SSL_CA_FILE" in said
    # Started from a thread: the TLS proxy runs on this event loop, which must keep serving.
    gateway, url = await asyncio.to_thread(start_gateway, misled, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:

            async def reported() -> bool:
                checks = (await http.get("/ready")).json()["checks"]
                return "THREADLINE_KAFKA_SSL_CA_FILE" in checks["kafka"]

            await eventually(reported, within=15, what="/ready naming the CA setting")
    finally:
        gateway.stop()


async def test_a_broker_that_cannot_be_reached_is_not_a_configuration_error(
    tls_settings: Settings,
) -> None:
    """Nobody listening at the address: an outage (clients keep retrying), not a refusal."""
    away = tls_settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    await asyncio.wait_for(kafka.check_tls(away), 10)


@pytest.fixture
def secure_mongo(authority: trustme.CA, tmp_path: Path) -> Iterator[str]:
    """SecantusDB with TLS and logins required, a user ``svc`` provisioned; its URI."""
    served = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "mongo-cert.pem", tmp_path / "mongo-key.pem"
    served.cert_chain_pems[0].write_to_path(str(cert))
    served.private_key_pem.write_to_path(str(key))
    ca_file = tmp_path / "mongo-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    storage = str(tmp_path / "mongo-data")
    # Users are provisioned without --auth, then the server is restarted with it.
    provisioning = EmbeddedMongo(storage=storage, log=tmp_path / "mongo-provision.log")
    provisioning.start()
    try:
        asyncio.run(_provision(provisioning.uri))
    finally:
        provisioning.stop()
    server = EmbeddedMongo(
        storage=storage,
        log=tmp_path / "mongo.log",
        options=["--auth", "--tls-cert-file", str(cert), "--tls-key-file", str(key)],
    )
    server.start()
    try:
        yield (
            f"mongodb://svc:s3cret@127.0.0.1:{server.port}/?directConnection=true"
            f"&authSource=admin&tls=true&tlsCAFile={ca_file}"
        )
    finally:
        server.stop()


async def _provision(uri: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    try:
        await client.admin.command("createUser", "svc", pwd="s3cret", roles=["root"])
    finally:
        await client.close()


async def test_a_webhook_reaches_the_database_over_both_encrypted_connections(
    tls_settings: Settings, secure_mongo: str, tmp_path: Path
) -> None:
    """The gateway publishes over Kafka TLS and the messages worker stores the message over
    MongoDB TLS with its login; nothing reaches either server in plaintext."""
    settings = tls_settings.model_copy(update={"mongo_uri": secure_mongo})
    await create_topics(settings)
    gateway, url = await asyncio.to_thread(start_gateway, settings, tmp_path)
    worker = start_consumer(settings, "messages", tmp_path)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(secure_mongo)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answer = await _post_whatsapp(http, "wamid.SECURE")
            assert answer.status_code == 200, answer.text
            assert (await http.get("/ready")).json()["checks"] == {"kafka": "ok", "mongodb": "ok"}

        async def stored() -> bool:
            found = await client[settings.mongo_db]["messages"].find_one(
                {"provider_message_id": "wamid.SECURE.0.0"}
            )
            return found is not None

        await eventually(stored, within=60, what="the message stored over TLS")
    finally:
        await client.close()
        worker.stop()
        gateway.stop()


async def test_a_refused_password_is_a_configuration_error_naming_the_setting(
    tls_settings: Settings, secure_mongo: str, tmp_path: Path
) -> None:
    """A wrong MongoDB password stops a worker with status 2 and a log naming MONGO_URI
    (without the password), and the gateway's /ready names it, instead of waiting it out."""
    wrong = secure_mongo.replace("svc:s3cret@", "svc:wrong-pass@")
    settings = tls_settings.model_copy(update={"mongo_uri": wrong})
    worker = start_consumer(settings, "messages", tmp_path)
    assert worker.process is not None
    assert await asyncio.to_thread(worker.process.wait, 60) == 2
    log = (tmp_path / "consumers-messages.log").read_text()
    assert "THREADLINE_MONGO_URI: MongoDB refused the credentials" in log
    assert "wrong-pass" not in log
    gateway, url = await asyncio.to_thread(start_gateway, settings, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:

            async def reported() -> bool:
                checks = (await http.get("/ready")).json()["checks"]
                return "THREADLINE_MONGO_URI" in checks["mongodb"]

            await eventually(reported, within=15, what="/ready naming MONGO_URI")
    finally:
        gateway.stop()
