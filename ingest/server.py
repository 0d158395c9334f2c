"""The gateway's HTTP/1.1 server: uvicorn's httptools protocol, with the bounds a server facing
the internet needs and uvicorn does not set.

- The request line and headers of one request may take at most ``HTTP_MAX_HEADER_BYTES``
  and ``HTTP_MAX_HEADERS`` headers (431 beyond), counted as they arrive, so a client cannot
  make the process buffer megabytes before anything is checked.
- They must arrive within ``HTTP_HEADER_TIMEOUT`` of the connection opening or of the
  previous response; a body may pause for at most ``HTTP_BODY_TIMEOUT`` (408, then closed).
  A connection that never completes a request holds nothing for long.

A proxy in front should bound the same (nginx: ``large_client_header_buffers``,
``client_header_timeout``, ``client_body_timeout``); these are the gateway's own floor.
"""

import asyncio
from asyncio import TimerHandle
from typing import Any

import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from contracts import get_settings

log = structlog.get_logger(__name__)

#: How long a refused connection's further bytes are read and dropped before it closes.
_LINGER_SECONDS = 1.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._max_header_bytes = settings.http_max_header_bytes
        self._max_headers = settings.http_max_headers
        self._header_timeout = settings.http_header_timeout.total_seconds()
        self._body_timeout = settings.http_body_timeout.total_seconds()
        #: Requests begun on this connection, and whether the latest one's headers are
        #: still arriving.
        self._requests = 0
        self._awaiting_headers = False
        self._header_bytes = 0
        self._header_count = 0
        self._refused = False
        self._header_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()  # the first request must arrive in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        before = (self._requests, self._awaiting_headers)
        super().data_received(data)
        if self._refused:
            return
        if self._awaiting_headers and before == (self._requests, True):
            # The whole chunk is more of one request's still incomplete headers: counted as
            # it arrives, so nothing large is buffered before it is refused.
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._refuse(431, "Request header fields too large.")
        elif self._body_timer is not None:
            self._arm_body_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._requests += 1
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_count = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_count += 1
        if self._header_count > self._max_headers:
            self._refuse(431, "Too many request header fields.")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._awaiting_headers = False
        self._cancel_header_timer()
        # Headers that arrived within one chunk are measured exactly here.
        size = len(self.url) + sum(len(name) + len(value) for name, value in self.headers)
        if size > self._max_header_bytes:
            self._refuse(431, "Request header fields too large.")
            return
        super().on_headers_complete()
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_body_timer()
        if not self._refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        self._cancel_body_timer()
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete
        if not self.transport.is_closing() and not self._awaiting_headers and idle:
            self._arm_header_timer()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._too_slow)

    def _arm_body_timer(self) -> None:
        self._cancel_body_timer()
        self._body_timer = self.loop.call_later(self._body_timeout, self._body_stalled)

    def _body_stalled(self) -> None:
        self._body_timer = None
        if self.flow is not None and self.flow.read_paused:
            # We stopped reading (the app is behind): the client is not the one stalling.
            self._arm_body_timer()
            return
        self._refuse(408, "Request body not received in time.")

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers and self._requests:
            # Idle between requests: closing quietly is what a keep-alive client expects.
            if not self.transport.is_closing():
                self.transport.close()
            return
        self._refuse(408, "Request headers not received in time.")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` unless a response has started, and close the connection."""
        if self._refused:
            return
        self._refused = True
        self._cancel_timers()
        log.warning("http_request_refused", status=status, reason=message, client=self.client)
        started = self.cycle is not None and self.cycle.response_started
        if not self.transport.is_closing() and not started:
            body = message.encode()
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[status],
                        b"content-type: text/plain; charset=utf-8\r\n",
                        b"x-content-type-options: nosniff\r\n",
                        b"content-length: " + str(len(body)).encode() + b"\r\n",
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
        if self.cycle is not None and not self.cycle.response_complete:
            # The app, if it is waiting for the body, sees the client gone.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if self.transport.is_closing():
            return
        # Closing at once would reset the connection while the client is still sending, and
        # it would never read the answer: end our side, discard what still comes for a
        # moment, then close.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
