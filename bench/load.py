"""A small closed-loop HTTP/1.1 load generator over keep-alive connections.

Requests are built ahead of time so the client spends its CPU on sending and reading, and
both the system under test and the baseline are driven by exactly the same code.
"""

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


def build_request(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str], *, method: str = "POST"
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    duration: float,
    warmup: float = 1.0,
) -> LoadResult:
    """Drive ``connections`` keep-alive connections for ``warmup + duration`` seconds,
    cycling through ``requests``; only responses that arrive in the last ``duration`` seconds
    are counted. Requests still in flight then are awaited (the server is idle when this
    returns) but not counted: with a slow server they would inflate the throughput."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    latencies: list[float] = []
    errors = 0
    counter = 0

    async def worker(offset: int) -> None:
        nonlocal errors, counter
        reader, writer = await asyncio.open_connection(host, port)
        index = offset
        try:
            while True:
                now = loop.time()
                if now >= stop_at:
                    return
                writer.write(requests[index % len(requests)])
                index += connections
                sent = time.perf_counter()
                status = await read_response(reader)
                elapsed = time.perf_counter() - sent
                if measure_from <= loop.time() < stop_at:
                    counter += 1
                    latencies.append(elapsed)
                    if status >= 300:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return LoadResult(requests=counter, errors=errors, seconds=duration, latencies=latencies)
