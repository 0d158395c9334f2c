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
class GatewayFigures:
    workers: int
    gateway: LoadResult
    bare: LoadResult

    def as_dict(self) -> dict[str, Any]:
        def one(result: LoadResult) -> dict[str, float]:
            return {
                "requests_per_second": round(result.throughput, 1),
                "p50_ms": round(result.p50 * 1000, 2),
                "p99_ms": round(result.percentile(0.99) * 1000, 2),
                "errors": result.errors,
            }

        return {
            "workers": self.workers,
            "gateway": one(self.gateway),
            "bare_litestar": one(self.bare),
            "throughput_ratio": round(self.gateway.throughput / self.bare.throughput, 3),
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


def _server(name: str, app: str, port: int, workers: int) -> ManagedProcess:
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
) -> LoadResult:
    process.start(env=env)
    try:
        assert process.process is not None
        wait_for_port(port, timeout=30, process=process.process)
        await asyncio.sleep(0.5)
        return await run_load(
            "127.0.0.1", port, _requests(port, 2000), connections=connections, duration=duration
        )
    finally:
        process.stop()


async def measure_gateway(
    *, workers: int = 1, connections: int = 32, duration: float = 8.0
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
        gateway = _server("gateway", "ingest.app:create_app", gateway_port, workers)
        bare = _server("bare", "bench.bare_app:create_app", bare_port, workers)
        gateway_result = await _measure(gateway, gateway_port, env, connections, duration)
        bare_result = await _measure(bare, bare_port, env, connections, duration)
    return GatewayFigures(workers=workers, gateway=gateway_result, bare=bare_result)
