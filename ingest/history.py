"""``python -m ingest import {bookings,messages} FILE.jsonl``: a tenant's history onto the
topics, at the speed Kafka takes it.

Each line of the file is one BookingEvent or MessageEvent as docs/topics.md defines it.
Lines are read and checked one at a time (memory stays flat however long the file), sent in
batches of ``BATCH`` records that share Kafka's batches, and each batch is acknowledged
before the next is read. A line that is not JSON, breaks the event's schema or names a
tenant the tenants file does not have is refused with its line number and reason, and the
import goes on. Running the same file again is harmless: the records carry the events' own
ids, and the consumers store each event once (a booking's version, a message's event id).
"""

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pydantic import ValidationError

from contracts import BookingEvent, MessageEvent, Settings, TenantDirectory
from ingest.webhooks.publisher import Publisher
from ingest.webhooks.records import ProducerRecord, to_record

Kind = Literal["bookings", "messages"]
#: Records per acknowledged send.
BATCH = 500
#: Refused lines listed in the summary; the rest are counted.
LISTED = 20


@dataclass
class ImportSummary:
    accepted: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    #: Lines read so far, blank ones included.
    read: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        rate = self.accepted / self.seconds if self.seconds else 0.0
        found = [
            f"accepted: {self.accepted} ({rate:,.0f}/s over {self.seconds:.1f} s)",
            f"refused: {len(self.refused)}",
        ]
        found += [f"  line {number}: {reason}" for number, reason in self.refused[:LISTED]]
        if len(self.refused) > LISTED:
            found.append(f"  ... and {len(self.refused) - LISTED} more")
        return found


def events(
    kind: Kind, path: Path, tenants: TenantDirectory, summary: ImportSummary
) -> Iterator[BookingEvent | MessageEvent]:
    """The file's valid events, in order; refused lines are added to ``summary``."""
    model = BookingEvent if kind == "bookings" else MessageEvent
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            summary.read = number
            if not line.strip():
                continue
            try:
                event = model.model_validate_json(line)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "line"
                summary.refused.append((number, f"{where}: {first['msg']}"))
                continue
            if tenants.get(event.tenant_id) is None:
                summary.refused.append((number, f"unknown tenant {event.tenant_id!r}"))
                continue
            yield event


async def import_history(
    kind: Kind,
    path: Path,
    settings: Settings,
    tenants: TenantDirectory,
    publisher: Publisher,
    *,
    progress: IO[str] | None = sys.stderr,
) -> ImportSummary:
    """Publish every valid line of ``path``; the summary of what went and what did not."""
    summary = ImportSummary()
    total = _count_lines(path)
    started = time.perf_counter()
    batch: list[ProducerRecord] = []
    for event in events(kind, path, tenants, summary):
        batch.append(to_record(event, settings, None))
        if len(batch) >= BATCH:
            await publisher.publish(batch)
            summary.accepted += len(batch)
            batch = []
            _show(progress, summary, total, started)
    if batch:
        await publisher.publish(batch)
        summary.accepted += len(batch)
    summary.seconds = time.perf_counter() - started
    _show(progress, summary, total, started, done=True)
    return summary


def _count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def _show(
    progress: IO[str] | None,
    summary: ImportSummary,
    total: int,
    started: float,
    *,
    done: bool = False,
) -> None:
    if progress is None:
        return
    read = summary.read
    share = read / total if total else 1.0
    bar = "#" * int(share * 30)
    rate = summary.accepted / max(time.perf_counter() - started, 1e-9)
    progress.write(f"\r[{bar:<30}] {read:,}/{total:,} lines, {rate:,.0f} events/s")
    if done:
        progress.write("\n")
    progress.flush()


def check_json_lines(path: Path) -> str | None:
    """Why ``path`` cannot be imported at all, or None."""
    if not path.is_file():
        return f"{path}: no such file"
    try:
        with path.open(encoding="utf-8") as lines:
            first = next((line for line in lines if line.strip()), None)
    except (OSError, UnicodeDecodeError) as error:
        return f"{path}: cannot read it: {error}"
    if first is not None:
        try:
            json.loads(first)
        except ValueError:
            return f"{path}: the first line is not JSON (one event per line is expected)"
    return None
