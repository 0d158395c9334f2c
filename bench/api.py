"""Read API throughput and latency against a bare Litestar GET, same server and workers.

A tenant of realistic size (by default 100,000 messages in 10,000 threads, half of them with
a customer, and 20,000 customers; see bench/api_data.py) read two ways: the Chats page's
first page, ``GET /v1/threads?limit=50``, and the customer search, ``GET /v1/customers?q=``
cycling through partial surnames, full emails and phones written in the national format.
The baseline answers the same GET with a small JSON body and no work, under the same uvicorn
settings, worker count, connections and load generator; rounds alternate and each keeps its
best. The database server's CPU per request is counted beside the API server's, since that
is where a query that reads too much shows. Before the load, each kind of request is also
timed alone, one at a time, which is its cost without queueing.
"""

import asyncio
import json
import os
import statistics
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from devstack import ManagedProcess, free_port, wait_for_port
from litestar.testing import AsyncTestClient
from pymongo import monitoring

from bench.api_data import LABEL, FillReport, Person, fill, people
from bench.commands import CommandCounter, CommandFigures, counted
from bench.cpu import tree_cpu_seconds
from bench.gateway import Measurement, uvicorn_server
from bench.load import LoadResult, build_request, run_load
from bench.stack import embedded_stack
from contracts import Settings, load_tenants
from domain.store.database import Store
from ingest.app import create_app

ROOT = Path(__file__).resolve().parents[1]
TENANTS_FILE = ROOT / "deploy" / "dev" / "tenants.toml"
API_KEY = "demo-acme-api-key"
THREADS_PATH = "/v1/threads?limit=50"
#: (v1.1) The Chats page's tabs and search: a filtered list, the list searched by words its
#: messages have (every thread has them: the worst case), and message search; timed alone,
#: with the database commands each request sends.
WORKING_PATHS = {
    "filtered_list": [f"/v1/threads?limit=50&status=open&label={LABEL}"],
    "thread_search": ["/v1/threads?limit=50&q=wetsuits", "/v1/threads?limit=50&q=parking"],
    "message_search": [
        "/v1/messages/search?limit=50&q=wetsuits%20bring",
        "/v1/messages/search?limit=50&q=KAYAK%20saturday",
        "/v1/messages/search?limit=50&q=late%20sorry",
    ],
}
#: How long each kind of request is timed alone (at least once).
ALONE_SECONDS = 2.0
#: A read API load lasts long enough for every connection's first answer and this many more.
MIN_ANSWERS = 3


@dataclass(frozen=True)
class ApiMeasurement:
    """One server under load, with the CPU the database server spent meanwhile."""

    server: Measurement
    database_cpu_seconds: float

    @property
    def load(self) -> LoadResult:
        return self.server.load

    def as_dict(self) -> dict[str, float]:
        requests = self.load.requests
        database_us = self.database_cpu_seconds / requests * 1e6 if requests else 0.0
        return {
            **self.server.as_dict(),
            # At a fraction of a request per second, one decimal would hide the figure.
            "requests_per_second": round(self.load.throughput, 3),
            "requests": requests,
            "database_cpu_us_per_request": round(database_us, 1),
        }


@dataclass(frozen=True)
class Alone:
    """Requests of one kind sent one at a time: their latencies, and how many each found."""

    latencies: list[float]
    found: list[int]

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "found_min": min(self.found),
            "found_max": max(self.found),
        }


@dataclass(frozen=True)
class ApiFigures:
    workers: int
    connections: int
    window: float
    data: FillReport
    bare: ApiMeasurement
    thread_list: ApiMeasurement
    search: ApiMeasurement
    terms: dict[str, list[str]]
    alone: dict[str, Alone]
    commands: dict[str, CommandFigures]

    def as_dict(self) -> dict[str, Any]:
        bare = self.bare.load.throughput
        return {
            "workers": self.workers,
            "connections": self.connections,
            "load_seconds": round(self.window, 1),
            **self.data.as_dict(),
            "bare_litestar": self.bare.as_dict(),
            "thread_list": self.thread_list.as_dict(),
            "customer_search": self.search.as_dict(),
            "thread_list_ratio": _significant(self.thread_list.load.throughput / bare),
            "customer_search_ratio": _significant(self.search.load.throughput / bare),
            "search_terms": {kind: terms[:3] for kind, terms in self.terms.items()},
            "alone": {kind: alone.as_dict() for kind, alone in self.alone.items()},
            "commands_per_request": {
                kind: {"per_request": round(found.per_event, 2), "commands": found.commands}
                for kind, found in self.commands.items()
            },
        }


def _significant(value: float) -> float:
    return float(f"{value:.3g}")


def search_terms(everyone: list[Person], per_kind: int = 20) -> dict[str, list[str]]:
    """What people type in the search box: the start of a surname (3 to 5 letters, in either
    case), a customer's whole email, a customer's phone as written in the UK. Each term
    finds at least one customer by construction; the timing alone checks it against the API."""
    chosen = everyone[:: max(1, len(everyone) // per_kind)][:per_kind]
    partial = []
    for index, person in enumerate(chosen):
        start = person.name.split(" ", 1)[1][: 3 + index % 3]
        partial.append(start.lower() if index % 2 else start)
    return {
        "partial_name": partial,
        "email": [person.email for person in chosen],
        "phone": [person.national_phone for person in chosen],
    }


def _search_path(term: str) -> str:
    return f"/v1/customers?q={quote(term, safe='')}"


def _get(port: int, path: str) -> bytes:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    return build_request("127.0.0.1", port, path, b"", headers, method="GET")


def _get_json(port: int, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - a local http URL built here
        found: dict[str, Any] = json.loads(response.read())
    return found


def _found(kind: str, path: str, answer: dict[str, Any]) -> int:
    """How many the answer holds; fails when it is not what the fill guarantees, since timing
    queries that answer nothing, or the wrong thing, would measure nothing."""
    if kind == "thread_list":
        items = answer["items"]
        if len(items) != 50 or not any(item["customer"] for item in items):
            raise AssertionError(f"thread list not as filled: {len(items)} items")
        return len(items)
    if kind in WORKING_PATHS:
        if len(answer["items"]) != 50 or not answer["next_cursor"]:
            raise AssertionError(f"{path} found {len(answer['items'])}, not a full page")
        return len(answer["items"])
    if answer["total"] < 1:
        raise AssertionError(f"{path} found nobody")
    return int(answer["total"])


async def _alone(port: int, paths: dict[str, list[str]]) -> dict[str, Alone]:
    """Each kind's requests one at a time, for ``ALONE_SECONDS`` each (at least one)."""
    timed: dict[str, Alone] = {}
    for kind, group in paths.items():
        latencies: list[float] = []
        found: list[int] = []
        spent = 0.0
        while not latencies or spent < ALONE_SECONDS:
            path = group[len(latencies) % len(group)]
            started = time.perf_counter()
            answer = await asyncio.to_thread(_get_json, port, path)
            latencies.append(time.perf_counter() - started)
            spent += latencies[-1]
            found.append(_found(kind, path, answer))
        timed[kind] = Alone(latencies, found)
    return timed


async def commands_per_request(
    settings: Settings,
    paths: dict[str, list[str]],
    *,
    tenants_file: Path = TENANTS_FILE,
    api_key: str = API_KEY,
) -> dict[str, CommandFigures]:
    """The database commands each kind of request sends, counted by a PyMongo command
    listener around the same app served in this process."""
    listener = CommandCounter()
    monitoring.register(listener)  # every client created from now on reports to it
    app = create_app(settings.model_copy(update={"tenants_file": tenants_file}))
    headers = {"Authorization": f"Bearer {api_key}"}
    found: dict[str, CommandFigures] = {}
    async with AsyncTestClient(app=app) as client:
        for kind, group in paths.items():

            async def requests(group: list[str] = group) -> None:
                for path in group:
                    answer = await client.get(path, headers=headers)
                    answer.raise_for_status()

            await requests()  # a first request also fills the app's caches
            found[kind] = await counted(listener, requests, len(group))
    return found


def _started(process: ManagedProcess, port: int, env: dict[str, str]) -> int:
    process.start(env=env)
    assert process.process is not None
    wait_for_port(port, timeout=60, process=process.process)
    return int(process.process.pid)


async def _measure(
    port: int,
    requests: list[bytes],
    pids: tuple[int, int],
    *,
    connections: int,
    duration: float,
) -> ApiMeasurement:
    server_pid, database_pid = pids
    server_before = tree_cpu_seconds(server_pid)
    database_before = tree_cpu_seconds(database_pid)
    load = await run_load(
        "127.0.0.1", port, requests, connections=connections, duration=duration, warmup=0
    )
    server = Measurement(load, tree_cpu_seconds(server_pid) - server_before)
    return ApiMeasurement(server, tree_cpu_seconds(database_pid) - database_before)


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "THREADLINE_MONGO_URI": settings.mongo_uri,
        "THREADLINE_MONGO_DB": settings.mongo_db,
        "THREADLINE_TENANTS_FILE": str(TENANTS_FILE),
        "THREADLINE_SPOOL_MAX_BYTES": "0",
        "THREADLINE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }


async def measure_api(
    *,
    messages: int = 100_000,
    customers: int = 20_000,
    workers: int = 1,
    connections: int = 2,
    duration: float = 8.0,
    rounds: int = 2,
) -> ApiFigures:
    """Fill, time each kind alone, then alternate the three loads over ``rounds`` rounds.

    Few connections by default: at full size the embedded database takes seconds over each
    of these queries, and more connections would only queue behind them. For the same reason
    the read API's loads last ``duration`` or, when longer, long enough for a few answers
    per connection (the bare baseline's last ``duration``; its rate does not depend on it).
    """
    tenants = load_tenants(TENANTS_FILE)
    everyone = people(customers)
    terms = search_terms(everyone)
    async with embedded_stack() as stack:
        samples = Store.open(stack.client, f"{stack.settings.mongo_db}_samples")
        data = await fill(stack.store, samples, tenants, everyone, messages=messages)
        env = _environment(stack.settings)
        api_port, bare_port = free_port(), free_port()
        api = uvicorn_server("api", "ingest.app:create_app", api_port, workers)
        bare = uvicorn_server("bare", "bench.bare_app:create_app", bare_port, workers)
        try:
            api_pids = (_started(api, api_port, env), stack.database_pid)
            bare_pids = (_started(bare, bare_port, env), stack.database_pid)
            paths = {"thread_list": [THREADS_PATH]}
            paths |= {kind: [_search_path(term) for term in group] for kind, group in terms.items()}
            alone = await _alone(api_port, paths | WORKING_PATHS)
            # Name, email, phone, name, ...: every kind of term all through the measurement.
            mixed = [
                path for group in zip(*list(paths.values())[1:], strict=True) for path in group
            ]
            commands = await commands_per_request(
                stack.settings,
                {"thread_list": [THREADS_PATH], "customer_search": mixed[:6], **WORKING_PATHS},
            )
            loads = {
                "bare": (bare_port, [_get(bare_port, THREADS_PATH)], bare_pids),
                "thread_list": (api_port, [_get(api_port, THREADS_PATH)], api_pids),
                "search": (api_port, [_get(api_port, path) for path in mixed], api_pids),
            }
            await run_load("127.0.0.1", bare_port, loads["bare"][1], connections=1, duration=1.0)
            # When a request takes seconds, a short load would end before any answer.
            slowest = max(statistics.median(kind.latencies) for kind in alone.values())
            window = max(duration, (connections + MIN_ANSWERS) * slowest)
            best: dict[str, ApiMeasurement] = {}
            for _ in range(rounds):
                for name, (port, requests, pids) in loads.items():
                    found = await _measure(
                        port,
                        requests,
                        pids,
                        connections=connections,
                        duration=duration if name == "bare" else window,
                    )
                    if name not in best or found.load.throughput > best[name].load.throughput:
                        best[name] = found
        finally:
            api.stop()
            bare.stop()
    return ApiFigures(
        workers=workers,
        connections=connections,
        window=window,
        data=data,
        bare=best["bare"],
        thread_list=best["thread_list"],
        search=best["search"],
        terms=terms,
        alone=alone,
        commands=commands,
    )
