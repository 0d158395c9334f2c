"""The Excel export of a large tenant's customers, against a small tenant's and a plain read.

One tenant has 100,000 customers and another 1,000, bulk-inserted as the bookings worker
writes them (bench/api_data.py). A ``python -m ingest`` process serves
``GET /v1/customers/export.xlsx`` for each, read to the end over HTTP, while its resident
memory is watched: the peak minus the level before is what the export took, and the large
export's growth over the small one's says whether memory stays flat with the row count (the
small one runs first, as in the integration test). The baseline is the export's own query
read in this process with PyMongo, 500 documents a round trip and nothing done with them:
the export's time over it is the cost of the models, the workbook and the transfer. Both
files are then opened with openpyxl and their rows counted.

The gateway runs with a longer database deadline than its default: SecantusDB's plan is the
(tenant_id, merged_into) index and a sort in memory, so the first batch waits for the whole
tenant (MongoDB can read the (tenant_id, created_at, _id) index in order instead), and at
100,000 customers that wait passes 10 s, which the gateway answers 503. The plain read's time
to its first batch shows it.
"""

import asyncio
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from devstack import ManagedProcess, free_port, wait_for_port

from bench.api import TENANTS_FILE, commands_per_request
from bench.api_data import TENANT, fill_customers, people
from bench.commands import CommandFigures
from bench.cpu import tree_cpu_seconds
from bench.memory import PeakMemory, peak_memory
from bench.stack import BenchStack, embedded_stack
from contracts import Tenant, load_tenants
from domain.store.database import Store
from ingest.api.customers import customer_query
from ingest.api.export import BATCH, COLUMNS, XLSX

ROOT = Path(__file__).resolve().parents[1]
EXPORT_PATH = "/v1/customers/export.xlsx"
SMALL_TENANT = "small"
SMALL_API_KEY = "bench-small-api-key"
#: The development tenants with one more, the small one.
SMALL_TENANT_TOML = f"""
[[tenants]]
id = "{SMALL_TENANT}"
name = "Small Tours"
default_region = "GB"
api_keys = ["{SMALL_API_KEY}"]
"""
MIB = 1024 * 1024
#: The gateway's wait on one database read (THREADLINE_API_DATABASE_TIMEOUT), in seconds.
DATABASE_DEADLINE = 300


@dataclass(frozen=True)
class Download:
    bytes: int
    #: Until the answer's headers: the workbook is written whole before it is sent.
    first_byte_seconds: float
    seconds: float


@dataclass(frozen=True)
class Read:
    """The baseline: the export's query read with PyMongo, each document dropped."""

    documents: int
    first_batch_seconds: float
    seconds: float


@dataclass(frozen=True)
class SheetCheck:
    """The downloaded file as openpyxl reads it (read-only): the header and the row count."""

    rows: int
    header: bool
    seconds: float
    error: str | None = None

    def as_dict(self, customers: int) -> dict[str, Any]:
        return {
            "valid": self.error is None and self.header and self.rows == customers + 1,
            "rows": self.rows,
            "header": self.header,
            "error": self.error,
            "check_seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class Export:
    """One export read to the end, what the gateway spent on it, and the baseline read."""

    customers: int
    download: Download
    memory: PeakMemory
    server_cpu_seconds: float
    database_cpu_seconds: float
    read: Read
    sheet: SheetCheck

    @property
    def seconds_per_row(self) -> float:
        return self.download.seconds / self.customers

    def as_dict(self) -> dict[str, Any]:
        seconds = self.download.seconds
        return {
            "customers": self.customers,
            "seconds": round(seconds, 2),
            "rows_per_second": round(self.customers / seconds),
            "first_byte_seconds": round(self.download.first_byte_seconds, 2),
            "bytes": self.download.bytes,
            "rss_before_mib": round(self.memory.before / MIB, 1),
            "rss_peak_mib": round(self.memory.peak / MIB, 1),
            "rss_growth_mib": round(self.memory.growth / MIB, 1),
            "rss_peak_exact": self.memory.exact,
            "server_cpu_seconds": round(self.server_cpu_seconds, 2),
            "database_cpu_seconds": round(self.database_cpu_seconds, 2),
            "read_documents": self.read.documents,
            "read_first_batch_seconds": round(self.read.first_batch_seconds, 2),
            "read_seconds": round(self.read.seconds, 2),
            "read_ratio": _significant(seconds / self.read.seconds),
            "sheet": self.sheet.as_dict(self.customers),
        }


@dataclass(frozen=True)
class ExportFigures:
    fill_seconds: float
    small: Export
    large: Export
    commands: CommandFigures

    def as_dict(self) -> dict[str, Any]:
        small_growth = max(self.small.memory.growth, 1)
        return {
            "fill_seconds": round(self.fill_seconds, 1),
            "small": self.small.as_dict(),
            "large": self.large.as_dict(),
            "seconds_per_row_ratio": _significant(
                self.large.seconds_per_row / self.small.seconds_per_row
            ),
            "rss_growth_ratio": _significant(self.large.memory.growth / small_growth),
            "small_commands": {
                "per_request": round(self.commands.per_event, 2),
                "commands": self.commands.commands,
            },
        }


def _significant(value: float) -> float:
    return float(f"{value:.3g}")


def _download(port: int, api_key: str, into: Path) -> Download:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{EXPORT_PATH}", headers={"Authorization": f"Bearer {api_key}"}
    )
    started = time.perf_counter()
    try:
        response = urllib.request.urlopen(request, timeout=DATABASE_DEADLINE * 2)  # noqa: S310 - a local http URL built here
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{EXPORT_PATH} answered {error.code}: {error.read()!r}") from error
    with response, into.open("wb") as file:
        first_byte = time.perf_counter() - started
        if response.headers["content-type"] != XLSX:
            raise AssertionError(f"not a workbook: {response.headers['content-type']}")
        size = 0
        while chunk := response.read(1 << 20):
            file.write(chunk)
            size += len(chunk)
    return Download(size, first_byte, time.perf_counter() - started)


def check_sheet(path: Path) -> SheetCheck:
    """Open the workbook as Excel's stand-in does and count its rows; a file that does not
    open is reported, not raised, so the figures still print."""
    started = time.perf_counter()
    try:
        book = openpyxl.load_workbook(path, read_only=True)
        try:
            rows = book["Customers"].iter_rows(values_only=True)
            header = next(rows, None) == tuple(title for title, _ in COLUMNS)
            count = 1 + sum(1 for _ in rows)
        finally:
            book.close()
    except Exception as error:  # whatever stops openpyxl is the check's answer
        return SheetCheck(0, False, time.perf_counter() - started, repr(error))
    return SheetCheck(count, header, time.perf_counter() - started)


async def plain_read(store: Store, tenant: Tenant) -> Read:
    """The export's query (same filter, order and batch size), every document fetched and
    dropped."""
    query = customer_query(tenant, None, source=None, tag=None, sort="-created_at")
    started = time.perf_counter()
    first_batch = 0.0
    count = 0
    async for _ in store.customers.matching(tenant.id, query, batch=BATCH):
        if not count:
            first_batch = time.perf_counter() - started
        count += 1
    return Read(count, first_batch, time.perf_counter() - started)


async def _export(
    stack: BenchStack, gateway_pid: int, port: int, tenant: Tenant, customers: int, into: Path
) -> Export:
    api_key = tenant.api_keys[0].get_secret_value()
    read = await plain_read(stack.store, tenant)
    server_before = tree_cpu_seconds(gateway_pid)
    database_before = tree_cpu_seconds(stack.database_pid)
    async with peak_memory(gateway_pid) as memory:
        download = await asyncio.to_thread(_download, port, api_key, into)
    return Export(
        customers=customers,
        download=download,
        memory=memory,
        server_cpu_seconds=tree_cpu_seconds(gateway_pid) - server_before,
        database_cpu_seconds=tree_cpu_seconds(stack.database_pid) - database_before,
        read=read,
        sheet=await asyncio.to_thread(check_sheet, into),
    )


def _warm_up(port: int, api_key: str) -> None:
    """One read API request, so the first export pays for no connection. The small tenant's:
    at 100,000 customers the list's count alone can outlast the read API's deadline."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/customers?per_page=1",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - a local http URL built here
        response.read()


def _environment(stack: BenchStack, tenants_file: Path, workdir: Path, port: int) -> dict[str, str]:
    settings = stack.settings
    return {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "THREADLINE_MONGO_URI": settings.mongo_uri,
        "THREADLINE_MONGO_DB": settings.mongo_db,
        "THREADLINE_TENANTS_FILE": str(tenants_file),
        "THREADLINE_SPOOL_DIR": str(workdir / "spool"),
        "THREADLINE_HTTP_PORT": str(port),
        "THREADLINE_API_DATABASE_TIMEOUT": str(DATABASE_DEADLINE),
        "THREADLINE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }


async def measure_export(*, customers: int = 100_000, small: int = 1_000) -> ExportFigures:
    """Fill both tenants, start the gateway, export the small one then the large one, then
    count the small export's database commands in this process."""
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as name:
        workdir = Path(name)
        tenants_file = workdir / "tenants.toml"
        tenants_file.write_text(TENANTS_FILE.read_text() + SMALL_TENANT_TOML)
        tenants = load_tenants(tenants_file)
        async with embedded_stack() as stack:
            samples = Store.open(stack.client, f"{stack.settings.mongo_db}_samples")
            fill_seconds = await fill_customers(
                stack.store,
                samples,
                tenants,
                {TENANT: people(customers), SMALL_TENANT: people(small)},
            )
            port = free_port()
            gateway = ManagedProcess("gateway", [sys.executable, "-m", "ingest"])
            gateway.start(env=_environment(stack, tenants_file, workdir, port))
            try:
                assert gateway.process is not None
                wait_for_port(port, timeout=60, process=gateway.process)
                pid = gateway.process.pid
                await asyncio.to_thread(_warm_up, port, SMALL_API_KEY)
                exports = {}
                for tenant_id, count in ((SMALL_TENANT, small), (TENANT, customers)):
                    tenant = tenants.get(tenant_id)
                    assert tenant is not None
                    into = workdir / f"{tenant_id}.xlsx"
                    exports[tenant_id] = await _export(stack, pid, port, tenant, count, into)
                    into.unlink()
            finally:
                gateway.stop()
            counted = await commands_per_request(
                stack.settings,
                {"export": [EXPORT_PATH]},
                tenants_file=tenants_file,
                api_key=SMALL_API_KEY,
            )
    return ExportFigures(
        fill_seconds=fill_seconds,
        small=exports[SMALL_TENANT],
        large=exports[TENANT],
        commands=counted["export"],
    )
