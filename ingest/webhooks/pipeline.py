"""The ingestion pipeline: parse an authentic request, publish its events, dead-letter the rest."""

import base64
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import structlog

from contracts import IngestDeadLetter, Settings, TenantDirectory, dead_letter_id
from ingest import metrics
from ingest.errors import ServiceUnavailable
from ingest.webhooks.channels.base import Headers, ParseContext, ParseError, Parser, ParseResult
from ingest.webhooks.publisher import Publisher, PublishError, RecordsRefused
from ingest.webhooks.records import AnyEvent, ProducerRecord, to_record
from ingest.webhooks.spooler import Spooler

log = structlog.get_logger(__name__)

#: Headers kept with a dead-lettered request: what the parsers read, never credentials or
#: signatures (a replay parses again, it does not authenticate again).
_KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "host",
)


@dataclass(frozen=True, slots=True)
class RawRequest:
    """An authenticated webhook request, as received."""

    channel: str
    provider: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    received_at: datetime
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of a request: how many events were published, and whether it was
    dead-lettered."""

    events: int
    dead_lettered: bool


class Ingestor:
    """Turns authentic requests into acknowledged Kafka records."""

    def __init__(
        self,
        publisher: Publisher,
        settings: Settings,
        tenants: TenantDirectory,
        spooler: Spooler | None = None,
    ) -> None:
        self.publisher = publisher
        self.settings = settings
        self.tenants = tenants
        #: Where records wait when Kafka does not take them; None answers 503 instead.
        self.spooler = spooler

    async def ingest(self, request: RawRequest, parse: Parser) -> Ingested:
        """Parse, publish every event, dead-letter what could not be normalised.

        Raises ServiceUnavailable when neither Kafka nor the spool takes the events, so the
        provider retries.
        """
        context = ParseContext(tenants=self.tenants, received_at=request.received_at)
        try:
            result = parse(request.body, request.headers, context)
        except ParseError as error:
            result = ParseResult(problems=[error.reason])
        except Exception as error:  # a parser bug must not lose an authentic request
            log.exception("parser_failed", channel=request.channel)
            result = ParseResult(problems=[f"parser failed: {type(error).__name__}: {error}"])
        limit = self.settings.max_events_per_request
        if len(result.events) > limit:
            # Beyond reason for one request: its events would hold every conversation that
            # shares their partitions for minutes. Kept whole; a replay publishes them.
            log.warning(
                "request_too_many_events", channel=request.channel, events=len(result.events)
            )
            result = ParseResult(
                problems=[
                    f"{len(result.events)} events in one request; at most {limit} are published "
                    "(replay-deadletter publishes them all)",
                    *result.problems,
                ]
            )
        # An email's attachment bytes go first: the message is stored with its attachments
        # pending, and the media worker writes each chunk as it comes, in any order.
        events: list[AnyEvent] = [*result.media, *result.events]
        if result.problems:
            events.append(self.dead_letter(request, "; ".join(result.problems)))
        try:
            await self.publish(request.channel, events, request.correlation_id)
        except RecordsRefused as error:
            # Too large for its topic: keep the request whole on the dead-letter topic, which
            # takes the largest requests the gateway accepts.
            letter = self.dead_letter(request, f"Kafka refused the events: {error}")
            try:
                await self.publish(request.channel, [letter], request.correlation_id)
            except RecordsRefused as again:
                raise ServiceUnavailable("the event log refuses this request") from again
            return Ingested(events=0, dead_lettered=True)
        return Ingested(events=len(result.events), dead_lettered=bool(result.problems))

    def dead_letter(
        self, request: RawRequest, reason: str, *, tenant_id: str | None = None
    ) -> IngestDeadLetter:
        """The dead-letter record of a whole request, enough to replay it."""
        return IngestDeadLetter(
            event_id=dead_letter_id(request.path, request.body),
            channel=request.channel,
            provider=request.provider,
            path=request.path,
            query_string=request.query_string,
            content_type=request.headers.get("content-type"),
            headers=_kept_headers(request.headers),
            body_base64=base64.b64encode(request.body).decode(),
            reason=reason,
            received_at=request.received_at,
            correlation_id=request.correlation_id,
            tenant_id=tenant_id,
        )

    async def publish(
        self, channel: str, events: Iterable[AnyEvent], correlation_id: str | None
    ) -> None:
        """Publish ``events``: return once Kafka acknowledged all of them, or the spool holds
        them on disk."""
        records: list[ProducerRecord] = [
            to_record(e, self.settings, correlation_id) for e in events
        ]
        if not records:
            return
        if self.spooler is not None and self.spooler.backlog:
            # Kafka may be back, but older records are still waiting: keep the order.
            await self._spool(channel, records)
            return
        started = time.perf_counter()
        try:
            await self.publisher.publish(records)
        except RecordsRefused:
            raise
        except PublishError as error:
            log.warning("publish_failed", channel=channel, error=str(error))
            await self._spool(channel, records, error)
            return
        metrics.PUBLISH_LATENCY.labels(channel).observe(time.perf_counter() - started)
        for record in records:
            metrics.EVENTS_PUBLISHED.labels(channel, record.kind).inc()

    async def _spool(
        self, channel: str, records: list[ProducerRecord], cause: PublishError | None = None
    ) -> None:
        if self.spooler is None:
            _refuse(channel, cause or PublishError("no spool"))
        try:
            await self.spooler.append(records, channel)
        except PublishError as error:
            _refuse(channel, error)


def _refuse(channel: str, error: PublishError) -> NoReturn:
    """Neither Kafka nor the spool takes the records: the provider must retry."""
    metrics.PUBLISH_FAILURES.labels(channel).inc()
    log.error("request_refused", channel=channel, error=str(error))
    raise ServiceUnavailable("the event log is unavailable; retry later") from error


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in _KEPT_HEADERS if name in headers}
