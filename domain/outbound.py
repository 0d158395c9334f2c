"""(v1.1) Replies from the Chats page: what may be sent on a thread, and the pending message
that stands for it until the ``outbound`` worker has sent it.

A reply is refused before anything is stored when its channel cannot carry it (nothing to
send, text over the channel's limit, more than one file where the provider takes one), when
the channel's reply window is closed and it is not a WhatsApp template
(``template_required``), or when the customer revoked consent on the channel (``opted_out``;
for ``marketing`` only, a marketing template).
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contracts import ConsentStatus, ConsentTopic, attachment_id, change_event_id
from domain.consents import OPT_OUT_ERRORS, consent_of
from domain.documents import ConsentEventDocument, MediaDocument, MessageDocument, ThreadDocument
from domain.previews import PREVIEW_LENGTH
from domain.statuses import apply_pending
from domain.store.database import Store
from domain.store.search import words
from domain.threads import refresh_summaries
from domain.work import reply_window

#: Characters of text each channel carries in one message (its provider's documented limit).
TEXT_LIMITS = {"whatsapp": 4096, "messenger": 2000, "instagram": 2000, "sms": 1600}
#: Files one message carries: Meta's APIs send one attachment per message, Twilio ten.
FILE_LIMITS = {"whatsapp": 1, "messenger": 1, "instagram": 1, "sms": 10, "email": 20}
#: Meta's standard window, past which Messenger and Instagram need the HUMAN_AGENT tag.
STANDARD_WINDOW = timedelta(hours=24)
#: Statuses a reply takes besides the providers' receipts: before the worker sent it, and
#: when a send's outcome could not be known.
PENDING = "pending"
UNKNOWN = "unknown"


class ReplyRefused(ValueError):
    """A reply that is not sent: ``code`` is the API's error code."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class ReplyFile:
    """An uploaded file attached to a reply."""

    upload_id: str
    kind: str
    mime_type: str
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    name: str
    language: str
    parameters: list[str] = field(default_factory=list)
    #: The template's category as the business account lists it (MARKETING, UTILITY,
    #: AUTHENTICATION), or None when it could not be read.
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the agent asked to send."""

    text: str | None = None
    files: list[ReplyFile] = field(default_factory=list)
    template: ReplyTemplate | None = None
    reply_to: MessageDocument | None = None
    author: str | None = None


def check_reply(
    thread: ThreadDocument,
    reply: Reply,
    *,
    human_agent: bool,
    consent: dict[str, str],
    now: datetime,
) -> bool:
    """Refuse what cannot be sent on ``thread`` now (ReplyRefused); otherwise whether it needs
    Meta's HUMAN_AGENT tag. ``consent``: the customer's ``{topic: status}`` on the channel."""
    channel = thread["channel"]
    if any(key.startswith("group:") for key in thread["participant_keys"]):
        raise ReplyRefused("conflict", "replies to a group are not supported")
    _check_body(channel, reply)
    if consent.get("all") == "revoked":
        raise ReplyRefused("opted_out", f"the customer opted out of messages on {channel}")
    if (
        reply.template is not None
        and consent.get("marketing") == "revoked"
        and (reply.template.category or "MARKETING").upper() == "MARKETING"
    ):
        raise ReplyRefused(
            "opted_out", f"the customer opted out of marketing messages on {channel}"
        )
    last_inbound = thread.get("last_inbound_at")
    if last_inbound is not None and last_inbound.tzinfo is None:
        last_inbound = last_inbound.replace(tzinfo=UTC)
    window = reply_window(channel, last_inbound, human_agent=human_agent, now=now)
    if reply.template is None and not window.open:
        raise ReplyRefused(
            "template_required",
            "the reply window is closed: only an approved WhatsApp template can be sent"
            if channel == "whatsapp"
            else f"the reply window of {channel} is closed",
        )
    return (
        channel in ("messenger", "instagram")
        and last_inbound is not None
        and now >= last_inbound + STANDARD_WINDOW
    )


def _check_body(channel: str, reply: Reply) -> None:
    if reply.template is not None:
        if channel != "whatsapp":
            raise ReplyRefused("validation_error", "templates are WhatsApp's", "template")
        if reply.text or reply.files:
            raise ReplyRefused(
                "validation_error", "a template is sent alone, without text or files", "template"
            )
        return
    if not reply.text and not reply.files:
        raise ReplyRefused("validation_error", "nothing to send: give text or attachments", "text")
    limit = TEXT_LIMITS.get(channel)
    if reply.text and limit is not None and len(reply.text) > limit:
        raise ReplyRefused(
            "validation_error", f"{channel} carries at most {limit} characters", "text"
        )
    if len(reply.files) > FILE_LIMITS[channel]:
        raise ReplyRefused(
            "validation_error",
            f"{channel} carries at most {FILE_LIMITS[channel]} file(s) per message",
            "attachments",
        )
    if reply.files and reply.text and channel in ("messenger", "instagram"):
        raise ReplyRefused(
            "validation_error", f"{channel} sends text and a file as two messages", "attachments"
        )
    if reply.text and any(f.kind == "audio" for f in reply.files) and channel == "whatsapp":
        raise ReplyRefused("validation_error", "WhatsApp audio takes no caption", "text")


async def channel_consent(store: Store, thread: ThreadDocument) -> dict[str, str]:
    """The customer's latest ``{topic: status}`` on the thread's channel: the linked
    customer's, or, for an unlinked thread, what was chosen under its participant's keys."""
    channel = thread["channel"]
    if customer_id := thread.get("customer_id"):
        view = await consent_of(store, thread["tenant_id"], customer_id)
        return view.summary().get(channel, {})
    found = await store.consents.of_participants(thread["tenant_id"], thread["participant_keys"])
    latest: dict[str, tuple[datetime, str]] = {}
    for choice in found:
        if choice["channel"] != channel:
            continue
        at = choice["occurred_at"]
        if choice["topic"] not in latest or at >= latest[choice["topic"]][0]:
            latest[choice["topic"]] = (at, choice["status"])
    return {topic: status for topic, (_, status) in latest.items()}


def provider_of(channel: str, last_inbound_provider: str | None) -> str:
    """Who sends on the channel: ``smtp`` for email, ``twilio`` for SMS and for a WhatsApp
    conversation that came through Twilio, ``meta`` otherwise."""
    if channel == "email":
        return "smtp"
    if channel == "sms" or last_inbound_provider == "twilio":
        return "twilio"
    return "meta"


def reply_document(
    thread: ThreadDocument,
    reply: Reply,
    *,
    message_id: str,
    provider: str,
    idempotency_key: str | None,
    human_agent_tag: bool,
    email: dict[str, object] | None,
    now: datetime,
) -> MessageDocument:
    """The pending message standing for ``reply`` in the thread's timeline."""
    content: dict[str, object] = {"type": _content_type(reply)}
    text = reply.text
    if reply.template is not None:
        text = _template_text(reply.template)
    if text:
        content["text"] = text
    if reply.files:
        content["attachments"] = [
            {
                "kind": file.kind,
                "mime_type": file.mime_type,
                "filename": file.filename,
                "size": file.size,
                "provider_media_id": upload_locator(file.upload_id),
            }
            for file in reply.files
        ]
    if reply.reply_to is not None:
        content["reply_to_provider_message_id"] = reply.reply_to["provider_message_id"]
    participant = thread["participant"]
    document: MessageDocument = {
        "_id": message_id,
        "tenant_id": thread["tenant_id"],
        "thread_id": thread["_id"],
        "channel": thread["channel"],
        "provider": provider,
        "direction": "outbound",
        # The provider's id once it has one.
        "provider_message_id": "",
        "occurred_at": now,
        "received_at": now,
        "stored_at": now,
        "participant": participant,
        "counterpart": participant.get("email")
        or participant.get("phone")
        or participant["channel_user_id"],
        "business": {"channel_account_id": thread.get("business_account") or ""},
        "content": content,
        "email": email,
        "references": [],
        "preview": " ".join((text or _file_preview(reply)).split())[:PREVIEW_LENGTH],
        "search_words": words(text, None),
        "customer_id": thread.get("customer_id"),
        "matched_by": "thread" if thread.get("customer_id") else None,
        "candidates": [],
        "status": PENDING,
        "status_rank": 0,
        "deleted": False,
        "author": reply.author,
        "outbound": {
            "attempt": 1,
            "idempotency_key": idempotency_key,
            "human_agent_tag": human_agent_tag,
            "template": (
                {
                    "name": reply.template.name,
                    "language": reply.template.language,
                    "parameters": list(reply.template.parameters),
                }
                if reply.template
                else None
            ),
            "requested_at": now,
            "published": False,
        },
    }
    return document


def upload_locator(upload_id: str) -> str:
    """How a reply's attachment names its uploaded file (``domain.media.source_of``)."""
    return f"upload:{upload_id}"


def _content_type(reply: Reply) -> str:
    if reply.files and not reply.text:
        kind = reply.files[0].kind
        return kind if kind in ("image", "audio", "video", "document") else "document"
    return "text"


def _template_text(template: ReplyTemplate) -> str:
    shown = f"Template {template.name} ({template.language})"
    return f"{shown}: {', '.join(template.parameters)}" if template.parameters else shown


def _file_preview(reply: Reply) -> str:
    return ", ".join(file.filename for file in reply.files)


async def store_reply(
    store: Store,
    thread: ThreadDocument,
    reply: Reply,
    *,
    human_agent: bool,
    sender_address: str | None,
    idempotency_key: str | None,
    body_hash: str,
    now: datetime,
) -> MessageDocument:
    """The reply as a pending message of ``thread``, checked and stored once: a request
    repeated with its Idempotency-Key within 24 hours gets the first request's message
    (ReplyRefused ``idempotency_key_reused`` when its body differs)."""
    message_id = uuid.uuid4().hex
    if idempotency_key is not None:
        record = await store.outbound.reserve(
            thread["tenant_id"], idempotency_key, body_hash, message_id, now
        )
        if record["body_hash"] != body_hash:
            raise ReplyRefused(
                "idempotency_key_reused",
                "this Idempotency-Key came with another body",
                "Idempotency-Key",
            )
        message_id = record["message_id"]
        if (first := await store.outbound.get(message_id)) is not None:
            return first
    consent = await channel_consent(store, thread)
    tag = check_reply(thread, reply, human_agent=human_agent, consent=consent, now=now)
    last = await store.messages.last_inbound(thread["_id"])
    provider = provider_of(thread["channel"], last["provider"] if last else None)
    email = (
        email_threading(message_id, last, sender_address or thread.get("business_account"))
        if thread["channel"] == "email"
        else None
    )
    document = reply_document(
        thread,
        reply,
        message_id=message_id,
        provider=provider,
        idempotency_key=idempotency_key,
        human_agent_tag=tag,
        email=email,
        now=now,
    )
    if not await store.outbound.insert(document):
        stored = await store.outbound.get(message_id)
        assert stored is not None
        return stored
    await store.media.register(_reply_media(document, reply, now))
    await refresh_summaries(store, [thread["_id"]])
    return document


def email_threading(
    message_id: str, last: MessageDocument | None, address: str | None
) -> dict[str, object]:
    """Our Message-ID, and the headers that put the reply in the customer's mail thread:
    ``In-Reply-To`` their last message, ``References`` its references and it, the subject."""
    domain = (address or "threadline.invalid").rpartition("@")[2] or "threadline.invalid"
    headers: dict[str, object] = {"message_id": f"{message_id}@{domain}", "references": []}
    if last is not None:
        earlier = (last.get("email") or {}).get("references") or []
        headers["in_reply_to"] = last["provider_message_id"]
        headers["references"] = [*earlier, last["provider_message_id"]]
        subject = str(last["content"].get("subject") or "").strip()
        if subject and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        headers["subject"] = subject or "Re: your message"
    else:
        headers["subject"] = "A message from us"
    return headers


def _reply_media(document: MessageDocument, reply: Reply, now: datetime) -> list[MediaDocument]:
    """A stored file for each attachment of the reply: its upload, readable at once."""
    return [
        {
            "_id": attachment_id(document["_id"], index),
            "tenant_id": document["tenant_id"],
            "message_id": document["_id"],
            "index": index,
            "channel": document["channel"],
            "source": "upload",
            "locator": file.upload_id,
            "file_id": file.upload_id,
            "mime_type": file.mime_type,
            "filename": file.filename,
            "content_type": file.mime_type,
            "size": file.size,
            "state": "stored",
            "reason": None,
            "attempts": 0,
            "next_attempt_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for index, file in enumerate(reply.files)
    ]


async def record_sent(
    store: Store, message: MessageDocument, attempt: int, provider_message_id: str, at: datetime
) -> None:
    """The provider took the reply: its id and ``sent``; receipts that arrived before the id
    was known are applied, and the provider's echo, if it was stored as a message of its own
    meanwhile, is removed (it is this message)."""
    stored = await store.outbound.sent(message["_id"], attempt, provider_message_id, at)
    if stored is None:
        return
    await apply_pending(store, stored)
    echoes = await store.outbound.echoes_of(
        message["tenant_id"], message["channel"], provider_message_id
    )
    if echoes:
        await store.messages.remove([echo["_id"] for echo in echoes])
    await refresh_summaries(store, [message["thread_id"]])


async def record_refused(
    store: Store,
    message: MessageDocument,
    attempt: int,
    code: str,
    title: str,
    *,
    opted_out: bool,
    at: datetime,
) -> None:
    """The provider refused the reply: ``failed`` with its code and title; an error that
    means the person opted out or blocked the sender is their consent, revoked."""
    await store.outbound.failed(message["_id"], attempt, {"code": code, "title": title}, at)
    if opted_out:
        thread = await store.threads.get(message["tenant_id"], message["thread_id"])
        keys = thread["participant_keys"] if thread else []
        await store.consents.keep([refused_send_consent(message, code, keys, at)])
    await refresh_summaries(store, [message["thread_id"]])


def refused_send_consent(
    message: MessageDocument, code: str, keys: list[str], at: datetime
) -> ConsentEventDocument:
    return {
        "_id": str(
            change_event_id("consent", message["channel"], message["provider"], message["_id"])
        ),
        "tenant_id": message["tenant_id"],
        "channel": message["channel"],
        "participant_keys": keys,
        "business_account": "",
        "topic": str(OPT_OUT_ERRORS.get(code, ConsentTopic.ALL)),
        "status": str(ConsentStatus.REVOKED),
        "source": "send_error",
        "keyword": None,
        "provider_message_id": message["provider_message_id"],
        "occurred_at": at,
        "received_at": at,
    }
