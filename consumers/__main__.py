"""``python -m consumers {bookings,messages,statuses,all}``: consumer-group workers;
``python -m consumers replay-deadletter``: put dead letters back on their topics."""

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

import structlog

from clients import kafka
from clients.mongo import MongoConfigurationError
from consumers import metrics
from consumers.deadletters import replay_consumer_deadletters
from consumers.workers import GROUPS, resources, runners
from contracts import get_settings, load_tenants
from contracts.deadletter import add_replay_arguments
from contracts.logs import configure_logging


async def serve(names: list[str]) -> None:
    settings = get_settings()
    configure_logging(settings)
    tenants = load_tenants(settings.tenants_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # A broker certificate that does not verify, or credentials MongoDB refuses, are a
    # configuration to fix, not an outage to wait out: the worker exits (2) naming the setting.
    await kafka.check_tls(settings)
    metrics.serve(settings.consumer_metrics_host, settings.consumer_metrics_port)
    async with resources(settings, tenants, stop) as res:
        await asyncio.gather(*(runner.run(stop) for runner in runners(names, res)))


async def replay(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings)
    summary = await replay_consumer_deadletters(
        settings, reason=args.reason, since=args.since, dry_run=args.dry_run
    )
    print("\n".join(summary.lines()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["replay-deadletter"]:
        replaying = argparse.ArgumentParser(
            prog="python -m consumers replay-deadletter",
            description="Publish the consumers' dead letters back to the topics they came from.",
        )
        add_replay_arguments(replaying)
        return asyncio.run(replay(replaying.parse_args(argv[1:])))
    parser = argparse.ArgumentParser(prog="python -m consumers", description=__doc__)
    parser.add_argument("worker", choices=[*GROUPS, "all"])
    args = parser.parse_args(argv)
    names = list(GROUPS) if args.worker == "all" else [args.worker]
    try:
        asyncio.run(serve(names))
    except (kafka.KafkaConfigurationError, MongoConfigurationError) as error:
        structlog.get_logger(__name__).error("misconfigured", error=str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
