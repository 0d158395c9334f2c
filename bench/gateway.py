"""Gateway throughput and latency against a bare Litestar endpoint, same server and workers.

Signed one-message WhatsApp webhooks, each answered only after Kafka acknowledged its event,
versus a bare endpoint that reads the same body and answers at once.
"""

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import EmbeddedKafka, ManagedProcess, free_port, running, wait_for_port

from bench.cpu import tree_cpu_seconds
from bench.load import LoadResult, build_request, run_load
from tests.signing import META_APP_SECRET, meta_signature, whatsapp_text_payload

ROOT = Path(__file__).resolve().parents[1]
TENANTS = f"""
[meta]
app_secret = "{META_APP_SECRET}"
verify_token = "bench"

[[tenants]]
id = "bench"
name = "Bench"
whatsapp_phone_number_ids = ["106540352242922"]
"""


@dataclass(frozen=True)
class Measurement:
    """One server under load: what the client saw, and the CPU the server spent."""

    load: LoadResult
    server_cpu_seconds: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_seconds / self.load.requests * 1e6 if self.load.requests else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "requests_per_second": round(self.load.throughput, 1),
            "p50_ms": round(self.load.p50 * 1000, 2),
            "p99_ms": round(self.load.percentile(0.99) * 1000, 2),
            "errors": self.load.errors,
            "server_cpu_us_per_request": round(self.cpu_us_per_request, 1),
        }


@dataclass(frozen=True)
class GatewayFigures:
    workers: int
    gateway: Measurement
    bare: Measurement

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "gateway": self.gateway.as_dict(),
            "bare_litestar": self.bare.as_dict(),
            "throughput_ratio": round(self.gateway.load.throughput / self.bare.load.throughput, 3),
        }


def _requests(port: int, count: int) -> list[bytes]:
    requests = []
    for index in range(count):
        # A conversation per request, so records spread over partitions as real traffic does.
        body = whatsapp_text_payload(
            wamid_prefix=f"wamid.BENCH{index}", wa_id=f"1650555{index:04d}"
        )
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(body),
        }
        requests.append(build_request("127.0.0.1", port, "/webhooks/whatsapp", body, headers))
    return requests


def uvicorn_server(name: str, app: str, port: int, workers: int) -> ManagedProcess:
    """Every server a benchmark compares runs with exactly these uvicorn settings."""
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return ManagedProcess(name, args)


async def _measure(
    process: ManagedProcess, port: int, env: dict[str, str], connections: int, duration: float
) -> Measurement:
    process.start(env=env)
    try:
        assert process.process is not None
        wait_for_port(port, timeout=30, process=process.process)
        await asyncio.sleep(0.5)
        requests = _requests(port, 2000)
        await run_load("127.0.0.1", port, requests, connections=connections, duration=1.0)
        before = tree_cpu_seconds(process.process.pid)
        load = await run_load(
            "127.0.0.1", port, requests, connections=connections, duration=duration, warmup=0
        )
        return Measurement(load, tree_cpu_seconds(process.process.pid) - before)
    finally:
        process.stop()


async def measure_gateway(
    *, workers: int = 1, connections: int = 32, duration: float = 8.0, rounds: int = 2
) -> GatewayFigures:
    """Run both servers in turn with the same settings and load."""
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    tenants = workdir / "tenants.toml"
    tenants.write_text(TENANTS)
    kafka = EmbeddedKafka()
    with running(kafka):
        env = {
            **os.environ,
            "THREADLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "THREADLINE_TENANTS_FILE": str(tenants),
            "THREADLINE_SPOOL_DIR": str(workdir / "spool"),
            "THREADLINE_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
        }
        create = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ingest",
            "create-topics",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
        )
        await create.wait()
        gateway_port, bare_port = free_port(), free_port()
        gateway = uvicorn_server("gateway", "ingest.app:create_app", gateway_port, workers)
        bare = uvicorn_server("bare", "bench.bare_app:create_app", bare_port, workers)
        # Alternate the two servers and keep each one's best round: on a small shared
        # machine a single round is at the mercy of whatever else ran at that moment.
        gateway_rounds, bare_rounds = [], []
        for _ in range(rounds):
            gateway_rounds.append(await _measure(gateway, gateway_port, env, connections, duration))
            bare_rounds.append(await _measure(bare, bare_port, env, connections, duration))
    return GatewayFigures(
        workers=workers,
        gateway=max(gateway_rounds, key=lambda m: m.load.throughput),
        bare=max(bare_rounds, key=lambda m: m.load.throughput),
    )
