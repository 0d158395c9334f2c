"""The gateway and the consumers as the real processes an operator runs, for fault tests."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from devstack import ManagedProcess, free_port, wait_for_port
from pydantic import SecretStr

from contracts import Settings


def environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the THREADLINE_ variables a process reads them from."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue  # unset: the process's default, as here
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"THREADLINE_{name.upper()}"] = str(value)
    return env


def start_gateway(settings: Settings, logs: Path) -> tuple[ManagedProcess, str]:
    """``python -m ingest`` on a free port; returns the process and its base URL."""
    port = free_port()
    gateway = ManagedProcess(
        "gateway", [sys.executable, "-m", "ingest"], log=logs / f"gateway-{port}.log"
    )
    gateway.start(env=environment(settings.model_copy(update={"http_port": port})))
    assert gateway.process is not None
    wait_for_port(port, timeout=30, process=gateway.process)
    return gateway, f"http://127.0.0.1:{port}"


def start_consumer(settings: Settings, worker: str, logs: Path) -> ManagedProcess:
    """``python -m consumers <worker>``."""
    consumer = ManagedProcess(
        f"consumers-{worker}",
        [sys.executable, "-m", "consumers", worker],
        log=logs / f"consumers-{worker}.log",
    )
    consumer.start(env=environment(settings))
    return consumer


async def metric(http: httpx.AsyncClient, name: str) -> float:
    """The value of an unlabelled metric on the gateway's ``/metrics``."""
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not exposed")
