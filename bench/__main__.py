"""``python -m bench``: run every scenario, print one table, write bench/results.json."""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "dev")]

from bench.api import measure_api  # noqa: E402
from bench.bookings import measure_bookings  # noqa: E402
from bench.commands import measure_commands  # noqa: E402
from bench.crowd import measure_crowd  # noqa: E402
from bench.export import measure_export  # noqa: E402
from bench.gateway import measure_gateway  # noqa: E402
from bench.messages import measure_latency, measure_messages  # noqa: E402
from bench.streams import measure_streams  # noqa: E402
from contracts import load_tenants  # noqa: E402

SCENARIOS = (
    "commands", "gateway", "bookings", "messages", "latency", "crowd", "streams", "api", "export",
)  # fmt: skip
Row = tuple[str, str, str]


def _table(rows: list[Row]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    wanted = args.only or SCENARIOS
    results: dict[str, Any] = {}
    if "commands" in wanted:
        tenants = load_tenants(ROOT / "tests" / "fixtures" / "tenants.toml")
        counted = await measure_commands(tenants)
        results["commands"] = {name: figures.as_dict() for name, figures in counted.items()}
    if "gateway" in wanted:
        results["gateway"] = []
        for workers in (1, 2):
            figures = await measure_gateway(
                workers=workers,
                connections=args.connections,
                duration=args.duration,
                rounds=args.rounds,
            )
            results["gateway"].append(figures.as_dict())
    if "bookings" in wanted:
        results["bookings"] = (await measure_bookings()).as_dict()
    if "messages" in wanted:
        results["messages"] = (await measure_messages()).as_dict()
    if "latency" in wanted:
        latency = await measure_latency(rate=args.e2e_rate, seconds=args.e2e_seconds)
        results["latency"] = latency.as_dict()
    if "crowd" in wanted:
        results["crowd"] = (await measure_crowd()).as_dict()
    if "streams" in wanted:
        results["streams"] = await measure_streams()
    if "api" in wanted:
        api = await measure_api(
            messages=args.api_messages,
            customers=args.api_customers,
            connections=args.api_connections,
            duration=args.duration,
            rounds=args.rounds,
        )
        results["api"] = api.as_dict()
    if "export" in wanted:
        export = await measure_export(customers=args.export_customers, small=args.export_small)
        results["export"] = export.as_dict()
    return results


def _served(figures: dict[str, Any], bare: dict[str, Any]) -> str:
    """One server's figures beside the bare baseline's."""
    return (
        f"{figures['requests_per_second']} req/s (bare {bare['requests_per_second']}), "
        f"p50 {figures['p50_ms']} ms (bare {bare['p50_ms']}), "
        f"p99 {figures['p99_ms']} ms (bare {bare['p99_ms']}), "
        f"server CPU {figures['server_cpu_us_per_request']} us/request "
        f"(bare {bare['server_cpu_us_per_request']}), errors {figures['errors']}"
    )


def _gateway_rows(results: list[dict[str, Any]]) -> list[Row]:
    return [
        (
            f"gateway, {item['workers']} worker(s)",
            _served(item["gateway"], item["bare_litestar"]),
            f"{item['throughput_ratio']:.2f}",
        )
        for item in results
    ]


def _consumer_row(name: str, into: str, figures: dict[str, Any]) -> Row:
    return (
        f"{name} consumer",
        f"{figures['consumer_events_per_second']} events/s into {into} "
        f"({figures['baseline']} {figures['baseline_per_second']}/s, {figures['events']} events)",
        f"{figures['ratio']:.3f}",
    )


def _latency_rows(e2e: dict[str, Any]) -> list[Row]:
    return [
        (
            f"webhook to stored message at {e2e['rate_per_second']:g}/s",
            f"p50 {e2e['p50_ms']} ms, p95 {e2e['p95_ms']} ms, p99 {e2e['p99_ms']} ms; "
            f"sent {e2e['sent']} at {e2e['sent_per_second']}/s, refused {e2e['refused']}, "
            f"stored {e2e['stored']}",
            "-",
        )
    ]


def _crowd_rows(crowd: dict[str, Any]) -> list[Row]:
    alone = crowd["alone_seconds"]
    return [
        (
            f"6 ordinary messages behind one webhook of {crowd['senders']} new senders",
            f"all 6 stored in {crowd['behind_seconds']} s (alone {alone} s); the big one "
            f"stored in {crowd['big_stored_seconds']} s; {crowd['customers']} customers",
            f"{crowd['behind_ratio']:.3g}",
        ),
        (
            f"6 ordinary messages behind one webhook of {crowd['beyond']} (dead-lettered)",
            f"all 6 stored in {crowd['behind_beyond_seconds']} s (alone {alone} s); "
            f"dead-lettered whole: {crowd['beyond_dead_lettered']}",
            f"{crowd['behind_beyond_ratio']:.3g}",
        ),
    ]


def _streams_rows(streams: dict[str, Any]) -> list[Row]:
    alone, many = streams["alone"], streams["many"]
    return [
        (
            f"{many['streams']} live streams, 5 messages posted",
            f"{many['complete']} of {many['streams']} streams received all 5, the last in "
            f"{many['seconds']} s (one stream alone: {alone['seconds']} s)",
            f"{streams['seconds_ratio']:.3g}",
        )
    ]


def _api_load(figures: dict[str, Any], bare: dict[str, Any]) -> str:
    return (
        f"{_served(figures, bare)}, {figures['requests']} answers, "
        f"database CPU {figures['database_cpu_us_per_request']} us/request"
    )


def _api_rows(api: dict[str, Any]) -> list[Row]:
    bare = api["bare_litestar"]
    load = f"{api['workers']} worker(s), {api['connections']} connections, {api['load_seconds']} s"
    alone = ", ".join(
        f"{kind} p50 {item['p50_ms']} ms ({item['requests']})"
        for kind, item in api["alone"].items()
    )
    return [
        (
            "read API data",
            f"{api['messages']} messages in {api['threads']} threads, "
            f"{api['customers']} customers, filled in {api['fill_seconds']} s",
            "-",
        ),
        (
            f"GET /v1/threads?limit=50, {load}",
            _api_load(api["thread_list"], bare),
            f"{api['thread_list_ratio']:.3g}",
        ),
        (
            f"GET /v1/customers?q=name|email|phone, {load}",
            _api_load(api["customer_search"], bare),
            f"{api['customer_search_ratio']:.3g}",
        ),
        ("read API, one request at a time", alone, "-"),
        (
            "read API, database commands per request",
            ", ".join(
                f"{kind} {item['per_request']}"
                for kind, item in api.get("commands_per_request", {}).items()
            ),
            "-",
        ),
    ]


def _export_row(export: dict[str, Any]) -> Row:
    sheet = export["sheet"]
    checked = (
        f"valid, {sheet['rows']:,} rows"
        if sheet["valid"]
        else f"NOT VALID ({sheet['rows']:,} rows, "
        f"header {'ok' if sheet['header'] else 'wrong'}, {sheet['error']})"
    )
    peak = "" if export["rss_peak_exact"] else ", polled"
    return (
        f"GET /v1/customers/export.xlsx, {export['customers']:,} customers",
        f"{export['seconds']} s ({export['rows_per_second']:,} rows/s, first byte "
        f"{export['first_byte_seconds']} s), {export['bytes']:,} bytes; gateway RSS "
        f"+{export['rss_growth_mib']} MiB (peak {export['rss_peak_mib']}{peak}, before "
        f"{export['rss_before_mib']}); CPU gateway {export['server_cpu_seconds']} s, database "
        f"{export['database_cpu_seconds']} s; PyMongo read of the same "
        f"{export['read_documents']:,}: {export['read_seconds']} s (first batch "
        f"{export['read_first_batch_seconds']} s); file {checked}",
        f"{export['read_ratio']:.3g}",
    )


def _export_rows(export: dict[str, Any]) -> list[Row]:
    small, large = export["small"], export["large"]
    per_row = [item["seconds"] / item["customers"] * 1e6 for item in (large, small)]
    commands = export["small_commands"]
    spread = ", ".join(f"{command} {n}" for command, n in commands["commands"].items())
    return [
        (
            "export data",
            f"{large['customers']:,} and {small['customers']:,} customers of two "
            f"tenants, filled in {export['fill_seconds']} s",
            "-",
        ),
        _export_row(small),
        _export_row(large),
        (
            f"export time per row, {large['customers']:,} against {small['customers']:,}",
            f"{per_row[0]:.1f} us against {per_row[1]:.1f} us",
            f"{export['seconds_per_row_ratio']:.3g}",
        ),
        (
            f"export gateway RSS growth, {large['customers']:,} against {small['customers']:,}",
            f"+{large['rss_growth_mib']} MiB against +{small['rss_growth_mib']} MiB",
            f"{export['rss_growth_ratio']:.3g}",
        ),
        (
            f"export, database commands for {small['customers']:,} customers",
            f"{commands['per_request']} per request ({spread})",
            "-",
        ),
    ]


def _rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [("scenario", "figure", "ratio to baseline")]
    for name, counted in results.get("commands", {}).items():
        spread = ", ".join(f"{command} {n}" for command, n in counted["commands"].items())
        rows.append(
            (
                f"database commands, {name}",
                f"{counted['per_event']} per event ({counted['events']} events: {spread})",
                "-",
            )
        )
    if "gateway" in results:
        rows += _gateway_rows(results["gateway"])
    if "bookings" in results:
        rows.append(_consumer_row("bookings", "profiles", results["bookings"]))
    if "messages" in results:
        rows.append(_consumer_row("messages", "threads", results["messages"]))
    if "latency" in results:
        rows += _latency_rows(results["latency"])
    if "crowd" in results:
        rows += _crowd_rows(results["crowd"])
    if "streams" in results:
        rows += _streams_rows(results["streams"])
    if "api" in results:
        rows += _api_rows(results["api"])
    if "export" in results:
        rows += _export_rows(results["export"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best kept")
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run only this scenario (repeatable); the others keep their results.json entries",
    )
    parser.add_argument(
        "--e2e-rate", type=float, default=500.0, help="webhooks per second for the latency run"
    )
    parser.add_argument("--e2e-seconds", type=float, default=10.0, help="length of that run")
    parser.add_argument("--api-messages", type=int, default=100_000, help="stored messages")
    parser.add_argument("--api-customers", type=int, default=20_000, help="stored customers")
    parser.add_argument(
        "--api-connections",
        type=int,
        default=2,
        help="read API and its baseline (at full size each request takes seconds)",
    )
    parser.add_argument(
        "--export-customers", type=int, default=100_000, help="customers of the large export"
    )
    parser.add_argument(
        "--export-small", type=int, default=1_000, help="customers of the small export"
    )
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(_table(_rows(results)))
    path = ROOT / "bench" / "results.json"
    # A partial run replaces only its own scenarios' figures.
    previous = json.loads(path.read_text()) if args.only and path.exists() else {}
    path.write_text(json.dumps({**previous, **results}, indent=2) + "\n")
    print("\nwrote bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
