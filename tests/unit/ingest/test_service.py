"""The ingestion pipeline with an in-memory publisher: what is published and dead-lettered."""

import base64
import json
from datetime import UTC, datetime

import pytest

from contracts import Settings, TenantDirectory
from ingest.errors import ServiceUnavailable
from ingest.webhooks.channels import whatsapp
from ingest.webhooks.channels.base import Headers, ParseContext, ParseResult
from ingest.webhooks.pipeline import Ingestor, RawRequest
from tests.fakes import MemoryPublisher
from tests.signing import whatsapp_text_payload


def make_request(*, body: bytes) -> RawRequest:
    return RawRequest(
        channel="whatsapp",
        provider="meta",
        path="/webhooks/whatsapp",
        query_string="",
        headers={"content-type": "application/json", "authorization": "secret"},
        body=body,
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        correlation_id="corr-1",
    )


async def test_good_events_are_published_and_problems_dead_lettered(
    tenants: TenantDirectory,
) -> None:
    """One known and one unknown number: the known message is published, the request kept."""
    publisher = MemoryPublisher()
    ingestor = Ingestor(publisher, Settings(), tenants)
    known = json.loads(whatsapp_text_payload())
    unknown = json.loads(whatsapp_text_payload(phone_number_id="555", wamid_prefix="wamid.U"))
    body = json.dumps({**known, "entry": known["entry"] + unknown["entry"]}).encode()
    outcome = await ingestor.ingest(make_request(body=body), whatsapp.parse)
    assert outcome.events == 1
    assert outcome.dead_lettered
    topics = [record.topic for record in publisher.records]
    assert topics == ["chat.messages.v1", "ingest.deadletter.v1"]
    letter = json.loads(publisher.records[1].value)
    assert "555" in letter["reason"]
    assert base64.b64decode(letter["body_base64"]) == body
    assert "authorization" not in letter["headers"]  # credentials are never kept


async def test_a_parser_crash_dead_letters_the_request(tenants: TenantDirectory) -> None:
    """A bug in a parser loses nothing: the request goes to the dead-letter topic."""

    def broken(raw: bytes, headers: Headers, context: ParseContext) -> ParseResult:
        raise KeyError("surprise")

    publisher = MemoryPublisher()
    outcome = await Ingestor(publisher, Settings(), tenants).ingest(
        make_request(body=b"{}"), broken
    )
    assert outcome.dead_lettered
    [record] = publisher.records
    assert "KeyError" in json.loads(record.value)["reason"]


async def test_publish_failure_is_service_unavailable(tenants: TenantDirectory) -> None:
    """When Kafka does not acknowledge, the request fails with 503 and nothing is claimed."""
    ingestor = Ingestor(MemoryPublisher(fail=True), Settings(), tenants)
    with pytest.raises(ServiceUnavailable):
        await ingestor.ingest(make_request(body=whatsapp_text_payload()), whatsapp.parse)


async def test_events_kafka_refuses_for_good_dead_letter_the_request(
    tenants: TenantDirectory,
) -> None:
    """Events too large for their topic are not spooled: the request is dead-lettered whole
    (that topic takes the largest requests) and the provider gets its 200."""
    publisher = MemoryPublisher(refuse_over=200)
    request = make_request(body=whatsapp_text_payload(text="x" * 300))
    outcome = await Ingestor(publisher, Settings(), tenants).ingest(request, whatsapp.parse)
    assert outcome.dead_lettered
    assert outcome.events == 0
    [letter] = publisher.records
    assert letter.kind == "deadletter"
    assert "refused" in json.loads(letter.value)["reason"]


@pytest.mark.parametrize(("events", "published"), [(3, 3), (4, 0)])
async def test_a_request_with_too_many_events_is_dead_lettered_whole(
    tenants: TenantDirectory, events: int, published: int
) -> None:
    """Up to ``MAX_EVENTS_PER_REQUEST`` events are published; one more and none is, the
    request goes to the dead-letter topic with the count as its reason."""
    payload = json.loads(whatsapp_text_payload())
    entries = [
        json.loads(whatsapp_text_payload(wamid_prefix=f"wamid.N{n}"))["entry"][0]
        for n in range(events)
    ]
    body = json.dumps({**payload, "entry": entries}).encode()
    publisher = MemoryPublisher()
    ingestor = Ingestor(publisher, Settings(max_events_per_request=3), tenants)
    outcome = await ingestor.ingest(make_request(body=body), whatsapp.parse)
    assert outcome.events == published
    kinds = [record.kind for record in publisher.records]
    if published:
        assert kinds == ["message"] * published
    else:
        assert kinds == ["deadletter"]
        reason = json.loads(publisher.records[0].value)["reason"]
        assert reason.startswith("4 events in one request; at most 3 are published")
