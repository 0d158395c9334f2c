"""Local HTTP servers that serve media the way WhatsApp, Twilio and Meta's CDN do.

A media-fetching worker talks to three kinds of host, and each server here answers as the
provider's reference documentation describes, errors included, so the worker's handling of
authentication, expiry and refusal can be tested without the network:

- ``GraphMediaServer``: the WhatsApp Cloud API media reference, "Retrieve Media URL" and
  "Download Media" (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media).
  A media id becomes a short-lived download URL, and both steps need the Bearer token.
- ``TwilioMediaServer``: Twilio's Media resource
  (https://www.twilio.com/docs/messaging/api/media-resource) behind HTTP Basic authentication
  (https://www.twilio.com/docs/usage/security#http-authentication). A ``MediaUrlN`` from a
  webhook redirects to the CDN, which serves the bytes without credentials.
- ``CdnServer``: a CDN without authentication, whose URLs may be signed to expire, as the
  Messenger and Instagram attachment URLs on ``lookaside.fbsbx.com`` are.

Each runs a standard-library ``ThreadingHTTPServer`` on a daemon thread, so a test's event loop
keeps running while it answers. They speak HTTP/1.0 and close every connection after its
response, so a stopped server is unreachable even to a client holding a pooled connection.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

_CHUNK = 64 * 1024
_GRAPH_BAD_TOKEN = "Invalid OAuth access token - Cannot parse access token"
_GRAPH_CHALLENGE = f'OAuth "Facebook Platform" "invalid_token" "{_GRAPH_BAD_TOKEN}"'


@dataclass(frozen=True)
class Recorded:
    """One request as a server received it: ``path`` keeps the query, header names are lower."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Media:
    body: bytes
    content_type: str
    delay_per_chunk: float = 0.0
    expires_at: float | None = None


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the server that owns it, with helpers to answer it."""

    def __init__(self, owner: "_Server", *args: Any) -> None:
        self.owner = owner
        super().__init__(*args)

    def do_GET(self) -> None:
        self.owner._serve(self)

    def do_POST(self) -> None:
        self.owner._serve(self)

    def do_PUT(self) -> None:
        self.owner._serve(self)

    def do_DELETE(self) -> None:
        self.owner._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of one access-log line per request."""

    def reply(
        self,
        status: HTTPStatus,
        body: bytes = b"",
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def reply_json(
        self, status: HTTPStatus, payload: object, headers: Mapping[str, str] | None = None
    ) -> None:
        self.reply(status, json.dumps(payload).encode(), "application/json", headers)

    def stream(self, media: _Media, stopping: threading.Event) -> None:
        """Send ``media`` in 64 KiB writes, waiting ``delay_per_chunk`` before each one, and
        cut the body short if the server stops meanwhile, as a dropped connection would."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", media.content_type)
        self.send_header("Content-Length", str(len(media.body)))
        self.end_headers()
        for start in range(0, len(media.body), _CHUNK):
            if media.delay_per_chunk and stopping.wait(media.delay_per_chunk):
                return
            self.wfile.write(media.body[start : start + _CHUNK])

    def credentials(self, scheme: str) -> str | None:
        """The credentials of an ``Authorization`` header in ``scheme``, if there is one."""
        given, _, credentials = self.headers.get("Authorization", "").partition(" ")
        return credentials.strip() if given.lower() == scheme.lower() else None


class _Server(ABC):
    """A loopback HTTP server on a daemon thread that records every request it receives.

    The first start binds a free port and later starts bind the same one, so URLs handed out
    before a ``stop`` work again after the next ``start``.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} has not been started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        if self._httpd is not None:
            return
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), partial(_Handler, self))
        self._port = self._httpd.server_port
        serve = partial(self._httpd.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Refuse new connections and cut any download still streaming."""
        if self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, handler: _Handler) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self.requests.append(Recorded(handler.command, handler.path, headers))
        try:
            if handler.command == "GET":
                self._get(handler)
            else:
                handler.reply(HTTPStatus.METHOD_NOT_ALLOWED, b"Method Not Allowed")
        except ConnectionError:
            handler.close_connection = True

    @abstractmethod
    def _get(self, handler: _Handler) -> None: ...


class GraphMediaServer(_Server):
    """The Graph API's WhatsApp media endpoints: a media id to a download URL, then the bytes.

    Each retrieval issues a fresh download URL on this server, valid for ``url_lifetime``
    seconds; the retrieval and the download both need ``Authorization: Bearer <token>``.
    """

    def __init__(self, token: str, version: str = "v23.0", url_lifetime: float = 300.0) -> None:
        super().__init__()
        self.token = token
        self.version = version
        self.url_lifetime = url_lifetime
        self._media: dict[str, _Media] = {}
        self._refused: set[str] = set()
        self._issued: dict[str, tuple[str, float]] = {}

    def add(
        self, media_id: str, body: bytes, mime_type: str, *, delay_per_chunk: float = 0.0
    ) -> None:
        self._media[media_id] = _Media(body, mime_type, delay_per_chunk)
        self._refused.discard(media_id)

    def refuse(self, media_id: str) -> None:
        """Answer ``media_id``, and the URLs issued for it, as deleted or expired media."""
        self._refused.add(media_id)

    def _get(self, handler: _Handler) -> None:
        target = urlsplit(handler.path)
        if handler.credentials("Bearer") != self.token:
            handler.reply_json(
                HTTPStatus.UNAUTHORIZED,
                _graph_error(_GRAPH_BAD_TOKEN, 190),
                {"WWW-Authenticate": _GRAPH_CHALLENGE},
            )
        elif target.path == "/whatsapp_business/attachments/":
            self._download(handler, {k: v[0] for k, v in parse_qs(target.query).items()})
        elif target.path.count("/") == 2 and target.path.startswith(f"/{self.version}/"):
            self._retrieve(handler, target.path.rsplit("/", 1)[1])
        else:
            handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")

    def _retrieve(self, handler: _Handler, media_id: str) -> None:
        media = self._available(media_id)
        if media is None:
            error = _graph_error("(#100) Invalid parameter", 100, subcode=33)
            handler.reply_json(HTTPStatus.BAD_REQUEST, error)
            return
        url_hash = secrets.token_urlsafe(24)
        expires_at = time.time() + self.url_lifetime
        self._issued[url_hash] = (media_id, expires_at)
        query = urlencode({"mid": media_id, "ext": int(expires_at), "hash": url_hash})
        payload = {
            "messaging_product": "whatsapp",
            "url": f"{self.base_url}/whatsapp_business/attachments/?{query}",
            "mime_type": media.content_type,
            # As Meta's webhooks carry it (tests/fixtures/providers' whatsapp_image_message:
            # base64), and the size as the reference page's example writes it: a string.
            "sha256": base64.b64encode(hashlib.sha256(media.body).digest()).decode(),
            "file_size": str(len(media.body)),
            "id": media_id,
        }
        handler.reply_json(HTTPStatus.OK, payload)

    def _download(self, handler: _Handler, query: dict[str, str]) -> None:
        media_id, expires_at = self._issued.get(query.get("hash", ""), ("", 0.0))
        media = self._available(media_id) if media_id == query.get("mid") else None
        if media is None or time.time() >= expires_at:
            handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")
        else:
            handler.stream(media, self._stopping)

    def _available(self, media_id: str) -> _Media | None:
        return None if media_id in self._refused else self._media.get(media_id)


class CdnServer(_Server):
    """A CDN that serves files to anyone holding the URL, until the URL's signature expires.

    An expired URL answers 403 ``URL signature expired``, as Meta's CDN does; a refused or
    unknown one answers 404. A path may carry a query, which is matched exactly.
    """

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, _Media] = {}
        self._refused: set[str] = set()

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str,
        *,
        expires_in: float | None = None,
        delay_per_chunk: float = 0.0,
    ) -> str:
        """Serve ``body`` at ``path`` and return its full URL."""
        key = self._key(path)
        expires_at = None if expires_in is None else time.monotonic() + expires_in
        self._files[key] = _Media(body, content_type, delay_per_chunk, expires_at)
        self._refused.discard(key)
        return self.base_url + key

    def refuse(self, path: str) -> None:
        """Answer ``path`` (or the URL ``add`` returned for it) with 404 from now on."""
        self._refused.add(self._key(path))

    def _key(self, path: str) -> str:
        path = path.removeprefix(self.base_url)
        return path if path.startswith("/") else f"/{path}"

    def _get(self, handler: _Handler) -> None:
        media = None if handler.path in self._refused else self._files.get(handler.path)
        if media is None:
            handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")
        elif media.expires_at is not None and time.monotonic() >= media.expires_at:
            handler.reply(HTTPStatus.FORBIDDEN, b"URL signature expired")
        else:
            handler.stream(media, self._stopping)


class TwilioMediaServer(_Server):
    """Twilio's media URLs: with the account's Basic credentials, a redirect to the CDN.

    ``add`` places the bytes on ``cdn`` under an unguessable path, so both servers must be
    started first. The redirect is a 307, after which a client sends no credentials to the CDN.
    """

    def __init__(self, account_sid: str, auth_token: str, cdn: CdnServer) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.cdn = cdn
        self._locations: dict[str, str] = {}

    def add(self, message_sid: str, media_sid: str, body: bytes, content_type: str) -> str:
        """Store a media item and return its ``MediaUrl``, as a webhook would carry it."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        cdn_path = f"/{self.account_sid}/{secrets.token_hex(16)}"
        self._locations[path] = self.cdn.add(cdn_path, body, content_type)
        return self.base_url + path

    def _get(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        location = self._locations.get(path)
        if not self._authenticated(handler):
            handler.reply_json(
                HTTPStatus.UNAUTHORIZED,
                _twilio_error(20003, "Authenticate", HTTPStatus.UNAUTHORIZED),
                {"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        elif location is None:
            message = f"The requested resource {path} was not found"
            handler.reply_json(
                HTTPStatus.NOT_FOUND, _twilio_error(20404, message, HTTPStatus.NOT_FOUND)
            )
        else:
            handler.reply(HTTPStatus.TEMPORARY_REDIRECT, headers={"Location": location})

    def _authenticated(self, handler: _Handler) -> bool:
        try:
            decoded = base64.b64decode(handler.credentials("Basic") or "", validate=True).decode()
        except ValueError:
            return False
        return decoded == f"{self.account_sid}:{self.auth_token}"


def _graph_error(message: str, code: int, subcode: int | None = None) -> dict[str, object]:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return {"error": error}


def _twilio_error(code: int, message: str, status: HTTPStatus) -> dict[str, object]:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": int(status)}
