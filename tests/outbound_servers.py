"""Local servers that take replies the way Meta's Graph API and Twilio's Messages API do.

- ``GraphSendServer``: the WhatsApp Cloud API "Send messages" and "Upload media" references
  (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
  https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media), the Messenger
  Send API and Attachment Upload API
  (https://developers.facebook.com/docs/messenger-platform/reference/send-api/,
  https://developers.facebook.com/docs/messenger-platform/reference/attachment-upload-api/),
  Instagram messaging (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api),
  and a WhatsApp Business Account's ``message_templates`` edge
  (https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/).
  Bearer tokens are checked per account (190 ``OAuthException`` otherwise); bodies are checked
  field by field (100 "Invalid parameter" otherwise), as the Graph API error reference
  describes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
- ``TwilioSendServer``: the Messages resource's create
  (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource) behind
  HTTP Basic authentication (20003 otherwise), with Twilio's error bodies
  (https://www.twilio.com/docs/api/errors): 21604 without ``To``, 21603 without ``From``, 21602
  without ``Body`` or ``MediaUrl``.

Tests queue failures (``fail_next``) and slow answers (``slow_next``); every accepted send is
kept in ``sent``.
"""

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.media_servers import GraphMediaServer, Recorded, _Handler, _Server

_BAD_TOKEN = {
    "message": "Invalid OAuth access token - Cannot parse access token",
    "type": "OAuthException",
    "code": 190,
}


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Scripted(_Server):
    """Failures and delays the test asks for, applied to the next sends in order."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.received = threading.Event()
        self._failures: list[Failure] = []
        self._delays: list[float] = []
        self._lock = threading.Lock()

    def slow_next(self, seconds: float) -> None:
        """Record the next send, then wait ``seconds`` before answering it."""
        with self._lock:
            self._delays.append(seconds)

    def _scripted(self) -> tuple[Failure | None, float]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delays.pop(0) if self._delays else 0.0
        return failure, delay

    def _get(self, handler: _Handler) -> None:
        handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")

    def _serve(self, handler: _Handler) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self.requests.append(Recorded(handler.command, handler.path, headers))
        length = int(handler.headers.get("Content-Length") or 0)
        handler.body = handler.rfile.read(length) if length else b""  # type: ignore[attr-defined]
        try:
            if handler.command == "GET":
                self._get(handler)
            elif handler.command == "POST":
                self._post(handler)
            else:
                handler.reply(HTTPStatus.METHOD_NOT_ALLOWED, b"Method Not Allowed")
        except ConnectionError:
            handler.close_connection = True

    def _post(self, handler: _Handler) -> None: ...


def _graph_error(message: str, code: int, details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(8),
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class GraphSendServer(_Scripted):
    """``media``: a GraphMediaServer answering this host's media retrievals too, for a stack
    whose one ``GRAPH_API_URL`` both fetches and sends."""

    def __init__(
        self,
        tokens: dict[str, str],
        version: str = "v23.0",
        media: GraphMediaServer | None = None,
    ) -> None:
        super().__init__()
        self.media = media
        #: Account (phone number id, page id, Instagram account id, WABA id) to its token.
        self.tokens = tokens
        self.version = version
        self.templates: dict[str, list[dict[str, Any]]] = {}
        self.uploads: dict[str, bytes] = {}

    def fail_next(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        details: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.append(Failure(status, _graph_error(message, code, details), headers))

    def _get(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 3 or segments[0] != self.version or segments[2] != "message_templates":
            if self.media is not None:
                self.media._get(handler)
            else:
                handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")
            return
        account = segments[1]
        if handler.credentials("Bearer") != self.tokens.get(account):
            handler.reply_json(HTTPStatus.UNAUTHORIZED, {"error": _BAD_TOKEN})
            return
        query = parse_qs(parts.query)
        items = [
            t
            for t in self.templates.get(account, [])
            if t["status"] in query.get("status", ["APPROVED"])
        ]
        start = int(query.get("after", ["0"])[0])
        page = items[start : start + 2]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + 2)}}
        if start + 2 < len(items):
            paging["next"] = f"{self.base_url}{parts.path}?status=APPROVED&after={start + 2}"
        handler.reply_json(HTTPStatus.OK, {"data": page, "paging": paging})

    def _post(self, handler: _Handler) -> None:
        segments = urlsplit(handler.path).path.strip("/").split("/")
        if len(segments) != 3 or segments[0] != self.version:
            handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")
            return
        account, edge = segments[1], segments[2]
        if handler.credentials("Bearer") != self.tokens.get(account):
            handler.reply_json(HTTPStatus.UNAUTHORIZED, {"error": _BAD_TOKEN})
            return
        body: bytes = handler.body  # type: ignore[attr-defined]
        if edge in ("media", "message_attachments"):
            field_name = b'name="file"' if edge == "media" else b'name="filedata"'
            if field_name not in body or (
                edge == "media" and b'name="messaging_product"' not in body
            ):
                handler.reply_json(
                    HTTPStatus.BAD_REQUEST,
                    _graph_error("(#100) Invalid parameter", 100, "file is required"),
                )
                return
            media_id = str(secrets.randbelow(10**15))
            self.uploads[media_id] = body
            key = "id" if edge == "media" else "attachment_id"
            handler.reply_json(HTTPStatus.OK, {key: media_id})
            return
        if edge != "messages":
            handler.reply(HTTPStatus.NOT_FOUND, b"Not Found")
            return
        try:
            message = json.loads(body)
        except ValueError:
            handler.reply_json(
                HTTPStatus.BAD_REQUEST,
                _graph_error("(#100) Invalid parameter", 100, "body is not JSON"),
            )
            return
        problem = (
            _whatsapp_problem(message)
            if "messaging_product" in message
            else _send_api_problem(message)
        )
        if problem:
            handler.reply_json(
                HTTPStatus.BAD_REQUEST, _graph_error("(#100) Invalid parameter", 100, problem)
            )
            return
        self.sent.append({"account": account, **message})
        self.received.set()
        failure, delay = self._scripted()
        if delay:
            time.sleep(delay)
        if failure is not None:
            handler.reply_json(HTTPStatus(failure.status), failure.body, failure.headers)
            return
        if "messaging_product" in message:
            wamid = "wamid.HBgL" + secrets.token_hex(16).upper()
            self.sent[-1]["_id"] = wamid
            handler.reply_json(
                HTTPStatus.OK,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": message["to"], "wa_id": message["to"]}],
                    "messages": [{"id": wamid}],
                },
            )
        else:
            mid = "m_" + secrets.token_urlsafe(24)
            self.sent[-1]["_id"] = mid
            handler.reply_json(
                HTTPStatus.OK, {"recipient_id": message["recipient"]["id"], "message_id": mid}
            )


def _whatsapp_problem(message: dict[str, Any]) -> str | None:
    if message.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not message.get("to"):
        return "to is required"
    kind = message.get("type", "text")
    if kind not in ("text", "image", "audio", "video", "document", "sticker", "template"):
        return f"unknown type {kind}"
    payload = message.get(kind)
    if not isinstance(payload, dict):
        return f"{kind} object is required"
    if kind == "text" and not payload.get("body"):
        return "text.body is required"
    if kind == "template" and not (
        payload.get("name") and (payload.get("language") or {}).get("code")
    ):
        return "template.name and template.language.code are required"
    if kind in ("image", "audio", "video", "document", "sticker") and not (
        payload.get("id") or payload.get("link")
    ):
        return f"{kind}.id or {kind}.link is required"
    if kind in ("audio", "sticker") and "caption" in payload:
        return f"{kind} takes no caption"
    context = message.get("context")
    if context is not None and not (isinstance(context, dict) and context.get("message_id")):
        return "context.message_id is required"
    return None


def _send_api_problem(message: dict[str, Any]) -> str | None:
    if not (message.get("recipient") or {}).get("id"):
        return "recipient.id is required"
    kind = message.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if kind == "MESSAGE_TAG" and message.get("tag") not in (
        "HUMAN_AGENT",
        "ACCOUNT_UPDATE",
        "CONFIRMED_EVENT_UPDATE",
        "POST_PURCHASE_UPDATE",
    ):
        return "a MESSAGE_TAG send needs a tag"
    content = message.get("message") or {}
    if not content.get("text") and not content.get("attachment"):
        return "message.text or message.attachment is required"
    return None


class TwilioSendServer(_Scripted):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token

    def fail_next(
        self, code: int, message: str, *, status: int = 400, retry_after: float | None = None
    ) -> None:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.append(Failure(status, body, headers))

    def _error(self, handler: _Handler, status: int, code: int, message: str) -> None:
        handler.reply_json(
            HTTPStatus(status),
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _post(self, handler: _Handler) -> None:
        import base64

        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if urlsplit(handler.path).path != expected:
            self._error(handler, 404, 20404, "The requested resource was not found")
            return
        credentials = handler.credentials("Basic") or ""
        try:
            user, _, password = base64.b64decode(credentials).decode().partition(":")
        except ValueError:
            user = password = ""
        if (user, password) != (self.account_sid, self.auth_token):
            self._error(handler, 401, 20003, "Authenticate")
            return
        form = parse_qs(handler.body.decode())  # type: ignore[attr-defined]
        if not form.get("To"):
            self._error(handler, 400, 21604, "A 'To' phone number is required.")
            return
        if not form.get("From"):
            self._error(handler, 400, 21603, "A 'From' phone number is required.")
            return
        if not form.get("Body") and not form.get("MediaUrl"):
            self._error(handler, 400, 21602, "Message body is required.")
            return
        self.sent.append(
            {name: values if name == "MediaUrl" else values[0] for name, values in form.items()}
        )
        self.received.set()
        failure, delay = self._scripted()
        if delay:
            time.sleep(delay)
        if failure is not None:
            handler.reply_json(HTTPStatus(failure.status), failure.body, failure.headers)
            return
        sid = "SM" + secrets.token_hex(16)
        self.sent[-1]["_id"] = sid
        handler.reply_json(
            HTTPStatus.CREATED,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"][0],
                "from": form["From"][0],
                "body": (form.get("Body") or [""])[0],
                "status": "queued",
                "num_media": str(len(form.get("MediaUrl") or [])),
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            },
        )
