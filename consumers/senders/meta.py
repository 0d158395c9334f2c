"""WhatsApp Cloud API, Messenger and Instagram Send API: building requests, reading answers.

- WhatsApp: ``POST /{version}/{phone-number-id}/messages`` with the tenant's token as a Bearer
  header, media uploaded first with ``POST /{version}/{phone-number-id}/media``
  (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
  https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media).
- Messenger: ``POST /{version}/{page-id}/messages`` with the page's token
  (https://developers.facebook.com/docs/messenger-platform/reference/send-api/), a file
  uploaded first with the Attachment Upload API (``/{page-id}/message_attachments``).
- Instagram: ``POST /{version}/{ig-account-id}/messages`` with the account's token
  (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api),
  a file by its URL.

Errors are Graph errors, ``{"error": {"message", "type", "code", "error_subcode",
"error_data": {"details"}}}``; rate limits (codes 4, 32, 613, 80007, 130429, 131056) are asked
to be tried again later.
"""

import json

import httpx

from consumers.senders import Outcome, Outgoing, Refused, Sent, Unknown
from consumers.senders.http import Request, call, json_of, retry_after
from contracts import Channel, Settings

RATE_LIMITS = frozenset({4, 32, 613, 80007, 130429, 131056})
#: WhatsApp media kinds that take a caption (audio and stickers do not).
_CAPTIONED = frozenset({"image", "video", "document"})


def _base(settings: Settings, channel: Channel | None = None) -> str:
    host = settings.instagram_api_url if channel is Channel.INSTAGRAM else settings.graph_api_url
    return f"{host.rstrip('/')}/{settings.graph_api_version}"


def whatsapp_message(outgoing: Outgoing, media_id: str | None = None) -> dict[str, object]:
    """The Cloud API body of ``outgoing`` (its file uploaded already as ``media_id``)."""
    body: dict[str, object] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": outgoing.recipient,
    }
    if outgoing.template is not None:
        template: dict[str, object] = {
            "name": outgoing.template.name,
            "language": {"code": outgoing.template.language},
        }
        if outgoing.template.parameters:
            template["components"] = [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": p} for p in outgoing.template.parameters
                    ],
                }
            ]
        body |= {"type": "template", "template": template}
    elif outgoing.attachments:
        file = outgoing.attachments[0]
        kind = file.kind if file.kind in ("image", "audio", "video", "sticker") else "document"
        media: dict[str, object] = {"id": media_id}
        if outgoing.text and kind in _CAPTIONED:
            media["caption"] = outgoing.text
        if kind == "document":
            media["filename"] = file.filename
        body |= {"type": kind, kind: media}
    else:
        body |= {"type": "text", "text": {"preview_url": False, "body": outgoing.text or ""}}
    if outgoing.reply_to:
        body["context"] = {"message_id": outgoing.reply_to}
    return body


def send_api_message(outgoing: Outgoing, attachment_id: str | None = None) -> dict[str, object]:
    """The Send API body (Messenger, Instagram): ``RESPONSE`` within 24 hours, the
    ``HUMAN_AGENT`` tag after."""
    message: dict[str, object]
    if outgoing.attachments:
        file = outgoing.attachments[0]
        kind = file.kind if file.kind in ("image", "audio", "video") else "file"
        payload: dict[str, object] = (
            {"attachment_id": attachment_id} if attachment_id else {"url": file.public_url}
        )
        message = {"attachment": {"type": kind, "payload": payload}}
    else:
        message = {"text": outgoing.text or ""}
    body: dict[str, object] = {"recipient": {"id": outgoing.recipient}, "message": message}
    if outgoing.human_agent_tag:
        body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    else:
        body["messaging_type"] = "RESPONSE"
    return body


def read_graph(answer: httpx.Response, id_of: str) -> Outcome:
    """A Graph answer: the new message's id, or the error it refused it with."""
    found = json_of(answer)
    if answer.status_code == 200:
        if id_of == "whatsapp":
            messages = found.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                return Sent(str(messages[0]["id"]))
        elif "message_id" in found:
            return Sent(str(found["message_id"]))
        # Taken, but the answer does not say as what: whether it went is not known.
        return Unknown(f"the provider answered 200 without a message id: {found}")
    error = found.get("error") if isinstance(found.get("error"), dict) else {}
    assert isinstance(error, dict)
    code = error.get("code")
    details = (
        (error.get("error_data") or {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else None
    )
    title = str(details or error.get("message") or f"HTTP {answer.status_code}")
    if answer.status_code == 429 or code in RATE_LIMITS:
        return Refused(str(code or 429), title, retry_after=retry_after(answer))
    if answer.status_code >= 500:
        return Unknown(f"the provider failed with {answer.status_code}: {title}")
    return Refused(str(code or answer.status_code), title)


class WhatsAppSender:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    async def send(self, outgoing: Outgoing) -> Outcome:
        token = outgoing.tenant.whatsapp_access_token
        if token is None:
            return Refused("not_configured", "the tenant has no whatsapp_access_token")
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        base = f"{_base(self.settings)}/{outgoing.business_account}"
        media_id = None
        if outgoing.attachments and outgoing.template is None:
            file = outgoing.attachments[0]
            uploaded = await call(
                self.http,
                Request(
                    "POST",
                    f"{base}/media",
                    headers,
                    files={"file": (file.filename, file.data, file.mime_type)},
                    data={"messaging_product": "whatsapp", "type": file.mime_type},
                ),
                _read_upload,
            )
            if not isinstance(uploaded, Sent):
                return _not_uploaded(uploaded)
            media_id = uploaded.provider_message_id
        body = whatsapp_message(outgoing, media_id)
        return await call(
            self.http,
            Request("POST", f"{base}/messages", headers, json=body),
            lambda answer: read_graph(answer, "whatsapp"),
        )


def _not_uploaded(outcome: Refused | Unknown) -> Refused:
    """A file upload that failed or went unanswered sent no message: known not sent."""
    if isinstance(outcome, Refused):
        return outcome
    return Refused("upload_failed", outcome.reason, retry_after=5)


def _read_upload(answer: httpx.Response) -> Outcome:
    found = json_of(answer)
    if answer.status_code == 200 and "id" in found:
        return Sent(str(found["id"]))
    return read_graph(answer, "upload")


class SendApiSender:
    """Messenger and Instagram."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    async def send(self, outgoing: Outgoing) -> Outcome:
        tenant = outgoing.tenant
        token = (
            tenant.messenger_page_tokens.get(outgoing.business_account)
            if outgoing.channel is Channel.MESSENGER
            else tenant.instagram_access_token
        )
        if token is None:
            what = (
                f"messenger_page_tokens[{outgoing.business_account!r}]"
                if outgoing.channel is Channel.MESSENGER
                else "instagram_access_token"
            )
            return Refused("not_configured", f"the tenant has no {what}")
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        base = f"{_base(self.settings, outgoing.channel)}/{outgoing.business_account}"
        attachment_id = None
        if outgoing.attachments:
            file = outgoing.attachments[0]
            if outgoing.channel is Channel.MESSENGER:
                kind = file.kind if file.kind in ("image", "audio", "video") else "file"
                uploaded = await call(
                    self.http,
                    Request(
                        "POST",
                        f"{base}/message_attachments",
                        headers,
                        files={"filedata": (file.filename, file.data, file.mime_type)},
                        data={
                            "message": json.dumps(
                                {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
                            )
                        },
                    ),
                    _read_attachment,
                )
                if not isinstance(uploaded, Sent):
                    return _not_uploaded(uploaded)
                attachment_id = uploaded.provider_message_id
            elif file.public_url is None:
                return Refused(
                    "no_public_url",
                    "Instagram fetches files by URL: set PUBLIC_BASE_URL and a signing secret",
                )
        body = send_api_message(outgoing, attachment_id)
        return await call(
            self.http,
            Request("POST", f"{base}/messages", headers, json=body),
            lambda answer: read_graph(answer, "send_api"),
        )


def _read_attachment(answer: httpx.Response) -> Outcome:
    found = json_of(answer)
    if answer.status_code == 200 and "attachment_id" in found:
        return Sent(str(found["attachment_id"]))
    return read_graph(answer, "upload")
