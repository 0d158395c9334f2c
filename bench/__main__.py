"""``python -m bench``: run every scenario, print one table, write bench/results.json."""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "dev")]

from bench.bookings import measure_bookings  # noqa: E402
from bench.gateway import measure_gateway  # noqa: E402
from bench.messages import measure_messages  # noqa: E402


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)


async def run(duration: float, connections: int, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {"gateway": []}
    for workers in (1, 2):
        figures = await measure_gateway(
            workers=workers, connections=connections, duration=duration, rounds=rounds
        )
        results["gateway"].append(figures.as_dict())
    results["bookings"] = (await measure_bookings()).as_dict()
    results["messages"] = (await measure_messages()).as_dict()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best kept")
    args = parser.parse_args()
    results = asyncio.run(run(args.duration, args.connections, args.rounds))
    rows = [("scenario", "figure", "ratio to baseline")]
    for item in results["gateway"]:
        g, b = item["gateway"], item["bare_litestar"]
        label = f"gateway, {item['workers']} worker(s)"
        rows.append(
            (
                label,
                f"{g['requests_per_second']} req/s (bare {b['requests_per_second']}), "
                f"p50 {g['p50_ms']} ms (bare {b['p50_ms']}), "
                f"p99 {g['p99_ms']} ms (bare {b['p99_ms']}), "
                f"server CPU {g['server_cpu_us_per_request']} us/request "
                f"(bare {b['server_cpu_us_per_request']}), errors {g['errors']}",
                f"{item['throughput_ratio']:.2f}",
            )
        )
    bookings = results["bookings"]
    rows.append(
        (
            "bookings consumer",
            f"{bookings['consumer_events_per_second']} events/s into profiles "
            f"(bulk upserts {bookings['bulk_upserts_per_second']}/s, {bookings['events']} events)",
            f"{bookings['ratio']:.3f}",
        )
    )
    messages = results["messages"]
    e2e = messages["end_to_end"]
    rows.append(
        (
            "messages consumer",
            f"{messages['consumer_events_per_second']} events/s into threads "
            f"(bulk inserts {messages['bulk_inserts_per_second']}/s, {messages['events']} events)",
            f"{messages['ratio']:.3f}",
        )
    )
    rows.append(
        (
            "webhook to stored message",
            f"at {e2e['rate_per_second']}/s: p50 {e2e['p50_ms']} ms, p95 {e2e['p95_ms']} ms, "
            f"p99 {e2e['p99_ms']} ms ({e2e['messages']} messages)",
            "-",
        )
    )
    print(_table(rows))
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\nwrote bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
