"""(v1.1) Outbound replies: one sender module per provider, each a pure request builder
beside a thin piece of I/O, as the inbound adapters are.

A sender answers with what is known of the send, and only that:

- ``Sent``: the provider took the message and gave its id;
- ``Refused``: the provider answered that it did not take it (its code and title), so it is
  known not to have been sent; ``retry_after`` is set when it asked to be tried again later
  (a rate limit), ``opted_out`` when the error means the person opted out or blocked;
- ``Unknown``: the request may have reached the provider but no answer came (a timeout
  after the request was written, a connection dropped mid-answer): never sent again
  automatically.

A failure before any byte of the request left (connection refused, name not resolved) is
``Refused`` with ``retry_after``: known not to have happened, so safe to try again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from contracts import Channel, Tenant

if TYPE_CHECKING:
    import httpx

    from contracts import Settings


@dataclass(frozen=True)
class OutgoingFile:
    """An uploaded file to send: its bytes, and a URL the provider can fetch it from."""

    kind: str  # image, audio, video, document
    mime_type: str
    filename: str
    data: bytes
    #: A time-limited URL on the gateway (``PUBLIC_BASE_URL``) for providers that fetch media
    #: by URL (Twilio MMS, Instagram); None when no public URL is configured.
    public_url: str | None = None


@dataclass(frozen=True)
class Template:
    """A WhatsApp message template approved for the business account."""

    name: str
    language: str
    parameters: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EmailThreading:
    """What makes a mail client put the reply in the customer's thread."""

    subject: str
    message_id: str  # our Message-ID, without angle brackets
    in_reply_to: str | None  # the customer's last Message-ID
    references: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outgoing:
    """One message to send, everything resolved."""

    message_id: str  # Threadline's id of the message
    tenant: Tenant
    channel: Channel
    #: The provider for the channel: meta (WhatsApp, Messenger, Instagram), twilio (SMS,
    #: or WhatsApp through Twilio), smtp (email).
    provider: str
    #: The recipient: a wa_id, PSID, IGSID, E.164 number or email address.
    recipient: str
    #: The business side the customer wrote to: phone number id, page id, Instagram account
    #: id, Twilio number, or email address.
    business_account: str
    text: str | None = None
    attachments: list[OutgoingFile] = field(default_factory=list)
    template: Template | None = None
    #: The provider's id of the message this one replies to.
    reply_to: str | None = None
    #: Messenger and Instagram: send with the HUMAN_AGENT tag (past the 24-hour window).
    human_agent_tag: bool = False
    email: EmailThreading | None = None
    #: Twilio's StatusCallback: PUBLIC_BASE_URL + /webhooks/sms/twilio.
    status_callback: str | None = None


@dataclass(frozen=True)
class Sent:
    provider_message_id: str


@dataclass(frozen=True)
class Refused:
    code: str
    title: str
    retry_after: float | None = None
    opted_out: bool = False


@dataclass(frozen=True)
class Unknown:
    reason: str


Outcome = Sent | Refused | Unknown


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> Outcome: ...


def senders(settings: "Settings", http: "httpx.AsyncClient") -> "SenderPicker":
    """The sender of each provider and channel: ``meta`` (WhatsApp's Cloud API, or the Send
    API for Messenger and Instagram), ``twilio``, ``smtp``."""
    from consumers.senders.email import EmailSender
    from consumers.senders.meta import SendApiSender, WhatsAppSender
    from consumers.senders.twilio import TwilioSender

    whatsapp = WhatsAppSender(settings, http)
    send_api = SendApiSender(settings, http)
    twilio = TwilioSender(settings, http)
    smtp = EmailSender(settings)

    def pick(provider: str, channel: str) -> Sender:
        if provider == "smtp":
            return smtp
        if provider == "twilio":
            return twilio
        return whatsapp if channel == "whatsapp" else send_api

    return pick


SenderPicker = Callable[[str, str], Sender]
