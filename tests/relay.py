"""A TCP relay the tests can cut, to make a server unreachable while it keeps its data.

The embedded broker keeps topics in memory, so stopping it to simulate an outage also loses
every topic, and a client that reconnects before the test has created them again publishes
into a broker that then forgets it. Cutting the relay in front of the broker is the outage a
client sees (connections reset, then refused) without that loss.
"""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from devstack import free_port

_CHUNK = 64 * 1024


@dataclass
class Relay:
    """Forwards connections on ``port`` to ``target_port`` on the loopback interface."""

    target_port: int
    port: int = field(default_factory=free_port)
    #: Terminates TLS with this context (a TLS proxy in front of a plaintext server).
    tls: ssl.SSLContext | None = None
    _server: asyncio.Server | None = None
    _links: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def open(self) -> None:
        """Accept connections again."""
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port, ssl=self.tls)

    async def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._links, return_exceptions=True)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            target_reader, upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(_pipe(reader, upstream), _pipe(target_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._links.discard(task)
            for end in (writer, upstream):
                if end is not None:
                    end.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while chunk := await source.read(_CHUNK):
        sink.write(chunk)
        await sink.drain()
    sink.close()


@contextlib.asynccontextmanager
async def relay_to(
    target_port: int, port: int, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Relay]:
    """An open relay from ``port`` to ``target_port`` (terminating TLS with ``tls``), cut when
    the block ends."""
    relay = Relay(target_port, port, tls)
    await relay.open()
    try:
        yield relay
    finally:
        await relay.cut()
