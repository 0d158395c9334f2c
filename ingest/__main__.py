"""``python -m ingest``: serve the gateway; ``python -m ingest create-topics``: make the topics."""

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence

import uvicorn

from contracts import get_settings
from ingest.topics import create_topics


def serve() -> None:
    settings = get_settings()
    if settings.http_workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker has its own counters; this directory lets /metrics add them up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="threadline-metrics-")
    uvicorn.run(
        "ingest.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the gateway (the default)")
    commands.add_parser("create-topics", help="create every topic if missing")
    args = parser.parse_args(argv)
    if args.command == "create-topics":
        created = asyncio.run(create_topics(get_settings()))
        print("created: " + (", ".join(created) if created else "nothing (all exist)"))
        return 0
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
