"""``python -m ingest``: serve the gateway; ``create-topics``: make the topics;
``replay-deadletter``: re-run dead-lettered webhooks through the current parsers;
``import {bookings,messages} FILE.jsonl``: publish a tenant's history."""

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from clients import kafka
from contracts import Settings, get_settings, load_tenants
from contracts.deadletter import add_replay_arguments
from contracts.logs import configure_logging
from ingest.history import Kind, check_json_lines, import_history
from ingest.server import BoundedHttpToolsProtocol
from ingest.topics import create_topics
from ingest.webhooks.deadletters import replay_ingest_deadletters
from ingest.webhooks.publisher import KafkaPublisher, PublishError


def serve() -> None:
    settings = get_settings()
    if settings.http_workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker has its own counters; this directory lets /metrics add them up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="threadline-metrics-")
    uvicorn.run(
        "ingest.app:create_app",
        factory=True,
        http=BoundedHttpToolsProtocol,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


async def _connected(settings: Settings) -> KafkaPublisher | None:
    """A producer connected within 30 s (it must be closed), or None, said on stderr."""
    publisher = KafkaPublisher(settings)
    await publisher.start()
    if await publisher.wait_connected(30):
        return publisher
    await publisher.close()
    print(f"Kafka at {settings.kafka_bootstrap} is unreachable", file=sys.stderr)
    return None


async def replay(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(settings)
    if (publisher := await _connected(settings)) is None:
        return 1
    try:
        summary = await replay_ingest_deadletters(
            settings,
            load_tenants(settings.tenants_file),
            publisher,
            reason=args.reason,
            since=args.since,
            dry_run=args.dry_run,
        )
    except PublishError as error:
        print(f"stopped: {error}; run it again, replaying twice is harmless", file=sys.stderr)
        return 1
    finally:
        await publisher.close()
    print("\n".join(summary.lines()))
    return 0


async def import_file(settings: Settings, kind: Kind, path: Path) -> int:
    configure_logging(settings)
    if (problem := check_json_lines(path)) is not None:
        print(problem, file=sys.stderr)
        return 2
    if (publisher := await _connected(settings)) is None:
        return 1
    try:
        summary = await import_history(
            kind, path, settings, load_tenants(settings.tenants_file), publisher
        )
    except PublishError as error:
        print(f"stopped: {error}; run it again, importing twice is harmless", file=sys.stderr)
        return 1
    finally:
        await publisher.close()
    print("\n".join(summary.lines()))
    return 0 if not summary.refused else 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the gateway (the default)")
    commands.add_parser("create-topics", help="create every topic if missing")
    add_replay_arguments(
        commands.add_parser(
            "replay-deadletter",
            help="re-run dead-lettered webhooks through the current parsers and tenants file",
        )
    )
    importing = commands.add_parser(
        "import", help="publish a tenant's history (one event per line) to the topics"
    )
    importing.add_argument("kind", choices=["bookings", "messages"])
    importing.add_argument("file", type=Path, help="JSON Lines: one BookingEvent or MessageEvent")
    args = parser.parse_args(argv)
    if args.command in ("import", "create-topics", "replay-deadletter"):
        try:
            # A certificate that does not verify is named, not reported as Kafka unreachable.
            asyncio.run(kafka.check_tls(get_settings()))
        except kafka.KafkaConfigurationError as error:
            print(f"Kafka: {error}", file=sys.stderr)
            return 2
    if args.command == "import":
        return asyncio.run(import_file(get_settings(), args.kind, args.file))
    if args.command == "create-topics":
        created = asyncio.run(create_topics(get_settings()))
        print("created: " + (", ".join(created) if created else "nothing (all exist)"))
        return 0
    if args.command == "replay-deadletter":
        return asyncio.run(replay(get_settings(), args))
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
