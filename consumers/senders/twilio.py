"""Twilio Messages API: SMS and MMS, and WhatsApp through Twilio.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic ``AccountSid:AuthToken``
and the form fields ``To``, ``From``, ``Body``, ``MediaUrl`` (repeated, at most ten) and
``StatusCallback`` (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
The answer is 201 with the Message resource (``sid``); an error is
``{"code", "message", "more_info", "status"}`` (https://www.twilio.com/docs/api/errors):
21610 (the recipient replied STOP) and 63014 (blocked) mean the person opted out; 20429 and
HTTP 429 are Twilio's rate limit.
"""

import base64

import httpx

from consumers.senders import Outcome, Outgoing, Refused, Sent, Unknown
from consumers.senders.http import Request, call, json_of, retry_after
from contracts import Channel, Settings

OPTED_OUT = frozenset({"21610", "63014"})
MAX_MEDIA = 10


def message_form(outgoing: Outgoing) -> list[tuple[str, str]]:
    """The form of ``outgoing``; WhatsApp numbers carry Twilio's ``whatsapp:`` prefix."""
    prefix = "whatsapp:" if outgoing.channel is Channel.WHATSAPP else ""
    to = f"+{outgoing.recipient}" if outgoing.recipient.isdigit() else outgoing.recipient
    form = [("To", f"{prefix}{to}"), ("From", f"{prefix}{outgoing.business_account}")]
    if outgoing.text:
        form.append(("Body", outgoing.text))
    form += [("MediaUrl", f.public_url) for f in outgoing.attachments[:MAX_MEDIA] if f.public_url]
    if outgoing.status_callback:
        form.append(("StatusCallback", outgoing.status_callback))
    return form


def read_answer(answer: httpx.Response) -> Outcome:
    found = json_of(answer)
    if answer.status_code in (200, 201) and "sid" in found:
        return Sent(str(found["sid"]))
    code = str(found.get("code") or answer.status_code)
    title = str(found.get("message") or f"HTTP {answer.status_code}")
    if answer.status_code == 429 or code == "20429":
        return Refused(code, title, retry_after=retry_after(answer))
    if answer.status_code >= 500:
        return Unknown(f"Twilio failed with {answer.status_code}: {title}")
    return Refused(code, title, opted_out=code in OPTED_OUT)


class TwilioSender:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    async def send(self, outgoing: Outgoing) -> Outcome:
        tenant = outgoing.tenant
        if tenant.twilio_account_sid is None or tenant.twilio_auth_token is None:
            return Refused("not_configured", "the tenant has no twilio_account_sid and token")
        if any(f.public_url is None for f in outgoing.attachments):
            return Refused(
                "no_public_url",
                "Twilio fetches files by URL: set PUBLIC_BASE_URL and a signing secret",
            )
        sid = tenant.twilio_account_sid
        credentials = f"{sid}:{tenant.twilio_auth_token.get_secret_value()}".encode()
        url = f"{self.settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        headers = {"Authorization": f"Basic {base64.b64encode(credentials).decode()}"}
        return await call(
            self.http, Request("POST", url, headers, form=message_form(outgoing)), read_answer
        )
