"""Fuzzed webhook bodies and headers: never a 5xx, never a publish without valid authentication,
and an authentic request, however malformed, is always taken (200, dead-lettered if need be).

After every request the topics are read up to their end offsets, which the gateway's answer
follows, so "nothing published" is certain without waiting out a timeout."""

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import IngestDeadLetter, Settings
from contracts.logs import CORRELATION_ID
from tests.conftest import provider_fixture
from tests.integration.conftest import GatewayClient, Record, TopicReader, TopicTail
from tests.signing import meta_signature, twilio_signature, whatsapp_text_payload

pytestmark = [pytest.mark.integration, pytest.mark.faults]

WEBHOOKS = [
    "/webhooks/whatsapp",
    "/webhooks/instagram",
    "/webhooks/messenger",
    "/webhooks/sms/twilio",
    "/webhooks/email/mailgun",
    "/webhooks/email/sendgrid",
    "/webhooks/email/postmark",
    "/v1/bookings/events",
]
META = ["/webhooks/whatsapp", "/webhooks/instagram", "/webhooks/messenger"]
TWILIO_URL = "https://gateway.example.com/webhooks/sms/twilio"
TWILIO_ACCOUNT = "AC7ef44158dbb01b972d64d7e5c851c8d7"
BASIC = "Basic " + base64.b64encode(b"inbound:parse-secret").decode()

header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "application/json; charset=latin-1",
    ]
)
real_bodies = st.sampled_from(
    [
        whatsapp_text_payload(),
        provider_fixture("whatsapp_text_message.json"),
        b"From=%2B14155238886&To=%2B13177933221&Body=hi&MessageSid=SM1",
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real payload cut, spliced or with bytes flipped."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    body = bytearray(draw(real_bodies))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        body[at : at + 1] = draw(st.binary(max_size=3))
    return bytes(body[: draw(st.integers(0, len(body)))])


# Headers an attacker controls, including every credential header the gateway reads.
forged_headers = st.fixed_dictionaries(
    {"content-type": content_types},
    optional={
        "x-hub-signature-256": st.one_of(header_text, header_text.map(lambda t: "sha256=" + t)),
        "x-twilio-signature": header_text,
        "authorization": st.one_of(header_text, header_text.map(lambda t: "Basic " + t)),
        "x-forwarded-proto": st.sampled_from(["http", "https", "gopher", ""]),
        "x-forwarded-host": header_text,
        "x-request-id": header_text,
    },
)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def webhook_topics(settings: Settings) -> list[str]:
    """Every topic a webhook request can put a record on."""
    return [
        settings.topic_messages,
        settings.topic_statuses,
        settings.topic_bookings,
        settings.topic_ingest_deadletter,
    ]


async def all_topics(reader: TopicReader, settings: Settings) -> int:
    async with reader.tail(*webhook_topics(settings)) as tail:
        return len(await tail.catch_up())


@pytest.fixture
async def published(settings: Settings, topic_reader: TopicReader) -> AsyncIterator[TopicTail]:
    """The webhook topics, read on after each request (all of a test's examples share it)."""
    async with topic_reader.tail(*webhook_topics(settings)) as tail:
        yield tail


def request_id() -> str:
    """A correlation id of one request, which the gateway writes on each of its records."""
    return f"fuzz-{uuid.uuid4().hex}"


async def assert_taken(published: TopicTail, settings: Settings, sent: str, body: bytes) -> None:
    """Request ``sent`` put its events on the message or status topic, or itself, whole, on
    the ingest dead-letter topic, and nothing else was published meanwhile."""
    records = await published.catch_up()
    assert records, f"request {sent} was answered 200 but nothing reached Kafka"
    assert [correlation_id(r) for r in records] == [sent] * len(records)
    taken = {settings.topic_messages, settings.topic_statuses, settings.topic_ingest_deadletter}
    assert {r.topic for r in records} <= taken
    for record in records:
        if record.topic == settings.topic_ingest_deadletter:
            letter = IngestDeadLetter.model_validate_json(record.value)
            assert base64.b64decode(letter.body_base64) == body


def correlation_id(record: Record) -> str | None:
    value = dict(record.headers).get(CORRELATION_ID)
    return value.decode() if value is not None else None


@FUZZ
@given(path=st.sampled_from(WEBHOOKS), body=bodies(), headers=forged_headers)
async def test_forged_requests_are_refused_and_publish_nothing(
    path: str,
    body: bytes,
    headers: dict[str, str],
    client: GatewayClient,
    published: TopicTail,
) -> None:
    """Without valid credentials every request gets a 4xx, never a 2xx or a 5xx, and puts
    nothing on any topic."""
    response = await client.post(path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]["code"]
    assert await published.catch_up() == []


async def test_forged_requests_left_every_topic_empty(
    client: GatewayClient,
    settings: Settings,
    topic_reader: TopicReader,
) -> None:
    """The same forged requests, replayed, put no record on any topic, where one authentic
    request after them puts its one."""
    sample = st.tuples(st.sampled_from(WEBHOOKS), bodies(), forged_headers)
    requests: list[Any] = []

    @FUZZ
    @given(sample)
    def collect(request: Any) -> None:
        requests.append(request)

    collect()
    for path, body, headers in requests:
        await client.post(path, content=body, headers=headers)
    assert await all_topics(topic_reader, settings) == 0

    # Control: the same count sees a record that is there.
    authentic = whatsapp_text_payload()
    signed = {"content-type": "application/json", "x-hub-signature-256": meta_signature(authentic)}
    response = await client.post("/webhooks/whatsapp", content=authentic, headers=signed)
    assert response.status_code == 200
    assert await all_topics(topic_reader, settings) == 1


@FUZZ
@given(path=st.sampled_from(META), body=bodies(), content_type=content_types)
async def test_authentic_meta_requests_are_always_taken(
    path: str,
    body: bytes,
    content_type: str,
    client: GatewayClient,
    settings: Settings,
    published: TopicTail,
) -> None:
    """Signed with the app secret, any body is answered 200: published or dead-lettered."""
    sent = request_id()
    headers = {
        "content-type": content_type,
        "x-hub-signature-256": meta_signature(body),
        "x-request-id": sent,
    }
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    await assert_taken(published, settings, sent, body)


@FUZZ
@given(
    params=st.dictionaries(
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.text(st.characters(codec="utf-8"), max_size=200),
        max_size=8,
    )
)
async def test_authentic_twilio_requests_are_always_taken(
    params: dict[str, str],
    client: GatewayClient,
    settings: Settings,
    published: TopicTail,
) -> None:
    """Signed with the account's auth token, any form is answered 200: published or
    dead-lettered."""
    body = urlencode({**params, "AccountSid": TWILIO_ACCOUNT}).encode()
    sent = request_id()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio_signature(TWILIO_URL, body, "12345"),
        "x-request-id": sent,
    }
    response = await client.post("/webhooks/sms/twilio", content=body, headers=headers)
    assert response.status_code == 200, response.text
    await assert_taken(published, settings, sent, body)


@FUZZ
@given(
    path=st.sampled_from(["/webhooks/email/sendgrid", "/webhooks/email/postmark"]),
    body=bodies(),
    content_type=content_types,
)
async def test_authentic_email_requests_are_always_taken(
    path: str,
    body: bytes,
    content_type: str,
    client: GatewayClient,
    settings: Settings,
    published: TopicTail,
) -> None:
    """With the right Basic credentials, any body is answered 200: published or
    dead-lettered."""
    sent = request_id()
    headers = {"content-type": content_type, "authorization": BASIC, "x-request-id": sent}
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    await assert_taken(published, settings, sent, body)


def test_the_fuzzed_paths_are_every_webhook_route(client: GatewayClient) -> None:
    """A new webhook route is fuzzed too, or this fails."""
    posted = {
        route.path
        for route in client.app.routes
        if "POST" in getattr(route, "methods", ()) and route.path.startswith("/webhooks/")
    }
    assert posted | {"/v1/bookings/events"} == set(WEBHOOKS)
