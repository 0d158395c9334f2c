"""``python -m consumers {bookings,messages,statuses,all}``: consumer-group workers."""

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from consumers.service import GROUPS, resources, runners
from contracts import get_settings, load_tenants
from contracts.logs import configure_logging


async def serve(names: list[str]) -> None:
    settings = get_settings()
    configure_logging(settings)
    tenants = load_tenants(settings.tenants_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with resources(settings, tenants, stop) as res:
        await asyncio.gather(*(runner.run(stop) for runner in runners(names, res)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumers", description=__doc__)
    parser.add_argument("worker", choices=[*GROUPS, "all"])
    args = parser.parse_args(argv)
    names = list(GROUPS) if args.worker == "all" else [args.worker]
    asyncio.run(serve(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
