"""Threads and their messages, as the Chats page reads them."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field

from contracts import (
    Attachment,
    Channel,
    Content,
    DeliveryStatus,
    Direction,
    Participant,
    StatusError,
)
from contracts.enums import ContentType
from domain.documents import MediaDocument, MessageDocument, ThreadDocument
from domain.media import attachment_states
from domain.work import effective_status, reply_window
from ingest.api.schemas.common import ApiModel, RequestModel, drop_none, utc


class CustomerRef(ApiModel):
    id: str
    name: str | None


class LastMessage(ApiModel):
    preview: str = Field(max_length=140)
    direction: Direction
    occurred_at: datetime
    content_type: ContentType


ThreadStatus = Literal["open", "pending", "resolved", "snoozed"]


class ReplyWindowOut(ApiModel):
    """(v1.1) Whether the business may reply without a template, until when, and why."""

    open: bool
    closes_at: datetime | None
    rule: Literal["24h", "human_agent_7d", "none"]


class Thread(ApiModel):
    id: str
    channel: Channel
    participant: Participant
    customer: CustomerRef | None
    matched_by: str | None = None
    candidates: list[str] = Field(
        default_factory=list, description="possible customers when the match was ambiguous"
    )
    last_message: LastMessage | None
    message_count: int
    unread_count: int
    created_at: datetime
    last_message_at: datetime | None
    last_read_at: datetime | None = None
    status: ThreadStatus = Field(
        default="open", description="(v1.1) a snoozed thread past its time is open"
    )
    snoozed_until: datetime | None = None
    assignee: str | None = Field(default=None, description="(v1.1) an agent id")
    labels: list[str] = Field(default_factory=list)
    last_inbound_at: datetime | None = Field(
        default=None, description="(v1.1) the customer's last message, by the provider's clock"
    )
    reply_window: ReplyWindowOut | None = None

    @classmethod
    def from_document(
        cls, document: ThreadDocument, customer_name: str | None, *, human_agent: bool = False
    ) -> "Thread":
        last = document.get("last_message")
        customer_id = document.get("customer_id")
        now = datetime.now(UTC)
        last_inbound_at = utc(document.get("last_inbound_at"))
        window = reply_window(
            document["channel"], last_inbound_at, human_agent=human_agent, now=now
        )
        return cls(
            id=document["_id"],
            channel=document["channel"],
            participant=Participant.model_validate(drop_none(document["participant"])),
            customer=CustomerRef(id=customer_id, name=customer_name) if customer_id else None,
            matched_by=document.get("matched_by"),
            candidates=document.get("candidates") or [],
            last_message=(
                LastMessage(
                    preview=last.get("preview", ""),
                    direction=last["direction"],
                    occurred_at=utc(last["occurred_at"]),
                    content_type=last["content_type"],
                )
                if last
                else None
            ),
            message_count=document.get("message_count", 0),
            unread_count=document.get("unread_count", 0),
            created_at=utc(document["created_at"]),
            last_message_at=utc(document.get("last_message_at")),
            last_read_at=utc(document.get("last_read_at")),
            status=effective_status(document, now),
            snoozed_until=utc(document.get("snoozed_until")),
            assignee=document.get("assignee"),
            labels=document.get("labels") or [],
            last_inbound_at=last_inbound_at,
            reply_window=ReplyWindowOut(
                open=window.open,
                closes_at=window.closes_at,
                rule=window.rule,
            ),
        )


class ThreadPatch(RequestModel):
    """(v1.1) Any of these; a field left out is left as it is."""

    status: ThreadStatus | None = None
    snoozed_until: datetime | None = Field(
        default=None, description="required with status snoozed; must be in the future"
    )
    assignee: str | None = Field(default=None, max_length=200, description="null: unassigned")
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=50
    )


class ThreadCustomerIn(RequestModel):
    """(extension) The customer staff link the thread to."""

    customer_id: str = Field(min_length=1, max_length=64, description="a live customer's id")


class ThreadPage(ApiModel):
    items: list[Thread]
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page")


class ReplyTo(ApiModel):
    """(v1.1) The message this one quotes, when it is stored."""

    id: str
    preview: str = Field(max_length=140)
    direction: Direction

    @classmethod
    def from_document(cls, document: MessageDocument) -> "ReplyTo":
        return cls(
            id=document["_id"],
            preview=document.get("preview", ""),
            direction=document["direction"],
        )


MediaState = Literal["pending", "stored", "unavailable"]


class AttachmentOut(Attachment):
    """(v1.1) An attachment, with where its file stands (null: it has no file, as a
    location); a stored one is read at ``/v1/messages/{id}/attachments/{index}``."""

    state: MediaState | None = None


class ContentOut(Content):
    # The response narrows the contract's attachments to ones with their file's state.
    attachments: list[AttachmentOut] = Field(default_factory=list)  # type: ignore[assignment]


class Message(ApiModel):
    id: str
    event_id: str
    thread_id: str
    channel: Channel
    direction: Literal["inbound", "outbound", "note"] = Field(
        description="(v1.1) note: staff's, in the timeline only, never sent"
    )
    occurred_at: datetime
    received_at: datetime | None = None
    content: ContentOut
    status: DeliveryStatus | Literal["pending", "unknown"] | None = Field(
        description="outbound messages only; (v1.1) a reply is pending until it is sent, and "
        "unknown when whether it was sent could not be known"
    )
    status_error: StatusError | None = None
    provider_message_id: str
    customer_id: str | None = None
    matched_by: str | None = None
    deleted: bool = Field(
        default=False, description="the sender unsent it: its content is not shown"
    )
    edited_at: datetime | None = Field(default=None, description="(v1.1) when last edited")
    author: str | None = Field(default=None, description="(v1.1) a note's writer")
    reply_to: ReplyTo | None = Field(
        default=None, description="(v1.1) the quoted message, null until it is stored"
    )

    @classmethod
    def from_document(
        cls,
        document: MessageDocument,
        reply_to: MessageDocument | None = None,
        media: Mapping[str, MediaDocument] | None = None,
    ) -> "Message":
        """``reply_to``: the stored message ``document`` quotes, if any; ``media``: the
        records of its attachments' files (``Media.of_messages``)."""
        error = document.get("status_error")
        outbound = document["direction"] == "outbound"
        deleted = bool(document.get("deleted") or document["content"].get("deleted"))
        stored = Content.model_validate(document["content"])
        states = attachment_states(
            document["_id"],
            document["channel"],
            document.get("provider", ""),
            stored.attachments,
            media or {},
        )
        content = ContentOut.model_validate(
            {
                **stored.model_dump(exclude={"attachments"}),
                "attachments": [
                    {**attachment.model_dump(), "state": state}
                    for attachment, state in zip(stored.attachments, states, strict=True)
                ],
            }
        )
        if deleted:
            # Unsent by its sender: what it said is shown nowhere.
            content = ContentOut(type=content.type, deleted=True)
        return cls(
            id=document["_id"],
            event_id=document["_id"],
            thread_id=document["thread_id"],
            channel=document["channel"],
            direction=document["direction"],
            occurred_at=utc(document["occurred_at"]),
            received_at=utc(document.get("received_at")),
            content=content,
            status=(document.get("status") or "sent") if outbound else None,
            status_error=StatusError.model_validate(error) if error and outbound else None,
            provider_message_id=document["provider_message_id"],
            customer_id=document.get("customer_id"),
            matched_by=document.get("matched_by"),
            deleted=deleted,
            edited_at=utc(document.get("edited_at")),
            author=document.get("author"),
            reply_to=ReplyTo.from_document(reply_to) if reply_to else None,
        )


class ReplyFileIn(RequestModel):
    upload_id: str = Field(min_length=1, max_length=64, description="from POST /v1/uploads")


class TemplateIn(RequestModel):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15, examples=["en_US"])
    parameters: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=list, max_length=20, description="the body's {{1}}, {{2}}... in order"
    )


class ReplyIn(RequestModel):
    """(v1.1) A reply: ``text``, or ``attachments``, or (WhatsApp) a ``template``."""

    text: str | None = Field(default=None, min_length=1, max_length=10_000)
    attachments: list[ReplyFileIn] = Field(default_factory=list, max_length=20)
    template: TemplateIn | None = None
    reply_to: str | None = Field(
        default=None, max_length=64, description="the id of a message of this thread"
    )
    author: str | None = Field(default=None, max_length=200)


class UploadOut(ApiModel):
    upload_id: str
    filename: str
    mime_type: str
    kind: Literal["image", "audio", "video", "document"]
    size: int


class MessagePage(ApiModel):
    items: list[Message]
    before: str | None = Field(
        description="pass as ``before`` for older messages; null when there are none"
    )
    after: str | None = Field(
        description="pass as ``after`` for newer messages; null when there are none yet"
    )


class NoteIn(RequestModel):
    """(v1.1) A note for the team, in the thread's timeline."""

    text: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(default=None, max_length=200, description="an agent id or name")


class StatusCounts(ApiModel):
    open: int
    pending: int
    resolved: int
    snoozed: int


class ThreadCountsOut(ApiModel):
    """(v1.1) Threads per status; open threads unassigned, and those of ``assignee``."""

    status: StatusCounts
    unassigned: int
    assignee: int


class MessageSearchPage(ApiModel):
    items: list[Message]
    next_cursor: str | None = Field(description="pass as ``cursor`` for older matches")
