"""The gateway's HTTP server bounds what a client may make it hold: header size and count,
and the time to send headers and body. Against the real ``python -m ingest`` process."""

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from devstack import ManagedProcess

from contracts import Settings
from tests.integration.processes import start_gateway
from tests.waiting import eventually

pytestmark = pytest.mark.integration

#: Each bound's own time, short so the tests are quick.
TIMEOUT = timedelta(seconds=1)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def gateway(settings: Settings, logs: Path) -> Iterator[tuple[str, int]]:
    bounded = settings.model_copy(
        update={"http_header_timeout": TIMEOUT, "http_body_timeout": TIMEOUT, "log_level": "info"}
    )
    process: ManagedProcess
    process, url = start_gateway(bounded, logs)
    host, port = url.removeprefix("http://").split(":")
    try:
        yield host, int(port)
    finally:
        process.stop()


async def exchange(address: tuple[str, int], *parts: bytes, within: float = 10.0) -> bytes:
    """Send ``parts`` (tolerating a server that closes early) and read until it closes."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        for part in parts:
            try:
                writer.write(part)
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError):
                break
        return await asyncio.wait_for(reader.read(), within)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


async def test_ordinary_headers_are_served(gateway: tuple[str, int]) -> None:
    """A control: 50 headers of 1 KiB each are well within the bounds."""
    headers = b"".join(b"x-note-%d: %s\r\n" % (n, b"a" * 1000) for n in range(50))
    answer = await exchange(
        gateway, b"GET /health HTTP/1.1\r\nhost: t\r\n" + headers + b"connection: close\r\n\r\n"
    )
    assert status(answer) == 200, answer[:200]


async def test_megabytes_of_headers_are_refused_early(gateway: tuple[str, int]) -> None:
    """8 MiB of headers: 431, and the connection is closed before they are all sent."""
    chunk = b"x-big: " + b"a" * (1024 * 1024) + b"\r\n"
    answer = await exchange(gateway, b"GET /health HTTP/1.1\r\nhost: t\r\n", *[chunk] * 8)
    assert status(answer) == 431, answer[:200]
    assert b"x-content-type-options: nosniff" in answer.lower()


async def test_too_many_header_fields_are_refused(gateway: tuple[str, int]) -> None:
    """500 tiny header fields: 431."""
    headers = b"".join(b"x-%d: 1\r\n" % n for n in range(500))
    answer = await exchange(gateway, b"GET /health HTTP/1.1\r\nhost: t\r\n" + headers + b"\r\n")
    assert status(answer) == 431, answer[:200]


async def test_headers_sent_too_slowly_are_408(gateway: tuple[str, int]) -> None:
    """Half a request line and nothing more: 408 once the header time is up, and closed."""
    started = asyncio.get_running_loop().time()
    answer = await exchange(gateway, b"GET /health HTTP/1.1\r\nhost: t\r\n")
    assert status(answer) == 408, answer[:200]
    assert asyncio.get_running_loop().time() - started < 5


async def test_a_body_shorter_than_its_length_is_408(gateway: tuple[str, int]) -> None:
    """A webhook declaring 100 bytes more than it sends is answered 408 after the body time,
    not held open."""
    body = b'{"object":"whatsapp_business_account"}'
    head = (
        b"POST /webhooks/whatsapp HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % (len(body) + 100)
    )
    started = asyncio.get_running_loop().time()
    answer = await exchange(gateway, head, body)
    assert status(answer) == 408, answer[:200]
    assert asyncio.get_running_loop().time() - started < 5


async def test_a_client_leaving_mid_body_is_not_a_server_error(
    gateway: tuple[str, int], logs: Path
) -> None:
    """A webhook whose client closes the connection half-way through its body is logged as
    a client that went away, not as a 500 with a traceback."""
    head = b"POST /webhooks/whatsapp HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n"
    _, writer = await asyncio.open_connection(*gateway)
    writer.write(head + b'{"object":')
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    def logged() -> str:
        return "".join(path.read_text() for path in logs.glob("gateway-*.log"))

    await eventually(lambda: "client_disconnected" in logged(), within=10, what="the log line")
    assert "server_error" not in logged()
    assert "Traceback" not in logged()


async def test_kept_alive_and_pipelined_requests_are_served(gateway: tuple[str, int]) -> None:
    """Two requests in one write, then a third after a large body whose headers end in the
    next write: each is answered, none taken for headers too large or too slow."""
    get = b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n"
    body = b"x" * (200 * 1024)
    post = (
        b"POST /webhooks/whatsapp HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    ) + body
    last = b"GET /health HTTP/1.1\r\nhost: t\r\nconnection: close\r\n"
    answer = await exchange(gateway, get + get, post + last, b"\r\n")
    statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    assert statuses == [200, 200, 401, 200], answer[:400]
