"""Replaying dead-lettered webhooks through today's parsers and tenants file.

A request lands in ``ingest.deadletter.v1`` when it was authentic but could not be normalised:
an unknown tenant, an event kind or field a parser rejected. After the fix (a tenant added to
the tenants file, a parser corrected), ``python -m ingest replay-deadletter`` parses each one
again, exactly as received, and publishes the events it now yields. Authentication is not
checked again: only authenticated requests are dead-lettered, and a Mailgun signature would
have expired by now.

Event ids are derived from the provider's message ids, so the events a request's good part
already gave are published again with the same ids and the consumers store them once. A
request that still fails is left where it is (not dead-lettered a second time) and counted.
"""

import base64
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from clients.kafka import read_topic
from contracts import IngestDeadLetter, Settings, TenantDirectory
from contracts.deadletter import matches
from ingest.webhooks.channels.base import ParseContext, ParseError, ParseResult
from ingest.webhooks.channels.parsers import PARSERS
from ingest.webhooks.publisher import Publisher
from ingest.webhooks.records import to_record

log = structlog.get_logger(__name__)


@dataclass
class IngestReplaySummary:
    """What a replay read, matched, now parsed and published, and what still fails."""

    read: int = 0
    matched: int = 0
    replayed: int = 0
    events: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        lines = [
            f"read {self.read}, matched {self.matched}, replayed {self.replayed} "
            f"({self.events} events published), still failing {self.still_failing.total()}"
        ]
        lines += [f"  {n} x {reason}" for reason, n in self.still_failing.most_common()]
        return lines


def reparse(letter: IngestDeadLetter, tenants: TenantDirectory) -> ParseResult:
    """Parse a dead-lettered request again, as the gateway would have on receipt."""
    parse = PARSERS.get((letter.channel, letter.provider))
    if parse is None:
        return ParseResult(problems=[f"no parser for {letter.channel}/{letter.provider}"])
    body = base64.b64decode(letter.body_base64)
    headers = dict(letter.headers)
    if letter.content_type and "content-type" not in headers:
        headers["content-type"] = letter.content_type
    context = ParseContext(tenants=tenants, received_at=letter.received_at)
    try:
        return parse(body, headers, context)
    except ParseError as error:
        return ParseResult(problems=[error.reason])
    except Exception as error:  # a parser bug: report it, keep replaying the others
        return ParseResult(problems=[f"parser failed: {type(error).__name__}: {error}"])


async def replay_ingest_deadletters(
    settings: Settings,
    tenants: TenantDirectory,
    publisher: Publisher,
    *,
    reason: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
) -> IngestReplaySummary:
    """Re-run matching dead-lettered requests; publish the events of those that now parse."""
    wanted = matches(reason, since)
    summary = IngestReplaySummary()
    async for record in read_topic(settings, settings.topic_ingest_deadletter):
        summary.read += 1
        letter = IngestDeadLetter.model_validate_json(record.value)
        if not wanted(letter.reason, letter.received_at):
            continue
        summary.matched += 1
        result = reparse(letter, tenants)
        if result.problems:
            summary.still_failing["; ".join(result.problems)] += 1
            continue
        if not dry_run:
            replayed = [*result.media, *result.events]
            records = [to_record(e, settings, letter.correlation_id) for e in replayed]
            await publisher.publish(records)
        summary.replayed += 1
        summary.events += len(result.events)
        log.info(
            "deadletter_replayed",
            event_id=str(letter.event_id),
            channel=letter.channel,
            events=len(result.events),
            dry_run=dry_run,
        )
    return summary
