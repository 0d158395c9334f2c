"""(v1.1) Replies: ``POST /v1/threads/{id}/messages``, ``POST /v1/uploads`` and
``POST /v1/messages/{id}/retry``.

A reply is stored ``pending`` and published to ``chat.outbound.v1`` (or the gateway's spool)
before the answer; the ``outbound`` worker sends it. With an ``Idempotency-Key``, a request
repeated within 24 hours answers with the first request's message and publishes it again only
if the first request did not get that far, so nothing is sent twice.
"""

import hashlib
import json
import mimetypes
import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Stream

from contracts import OutboundEvent, Settings, Tenant, TenantDirectory, outbound_event_id
from domain.documents import MessageDocument
from domain.links import link_key, link_valid
from domain.outbound import Reply, ReplyFile, ReplyRefused, ReplyTemplate, store_reply
from domain.store.database import Store
from domain.store.outbound import UploadDocument
from ingest.api.inbox import media_of, quoted_messages
from ingest.api.schemas.errors import errors
from ingest.api.schemas.threads import Message, ReplyIn, UploadOut
from ingest.api.threads import live_thread
from ingest.correlation import current_correlation_id
from ingest.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    OptedOut,
    TemplateRequired,
    Unprocessable,
)
from ingest.outbox import Outbox

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="the same key within 24 hours returns the first answer, sends once",
    ),
]


class RepliesApi(Controller):
    path = "/v1"
    tags = ("replies",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @post(
        "/threads/{thread_id:str}/messages",
        status_code=202,
        responses=errors(404, 409, 422, 503),
    )
    async def reply(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        outbox: NamedDependency[Outbox],
        thread_id: FromPath[str],
        data: JSONBody[ReplyIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Message:
        """(v1.1) Send a reply on the thread's channel: stored ``pending`` and on its way to
        the provider; its status moves on as the worker sends it and receipts arrive.
        409 ``template_required`` when the reply window is closed, 409 ``opted_out`` when the
        customer revoked consent; 422 for what the channel cannot carry."""
        thread = await live_thread(store, tenant.id, thread_id)
        reply = await _reply(store, tenant, thread_id, data)
        body_hash = hashlib.sha256(
            json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        try:
            message = await store_reply(
                store,
                thread,
                reply,
                human_agent=tenant.human_agent,
                sender_address=_sender_address(tenant),
                idempotency_key=idempotency_key,
                body_hash=body_hash,
                now=datetime.now(UTC),
            )
        except ReplyRefused as refused:
            raise _api_error(refused) from refused
        await publish(outbox, store, message, current_correlation_id())
        return await message_view(store, tenant.id, message)

    @post("/messages/{message_id:str}/retry", status_code=202, responses=errors(404, 409, 503))
    async def retry(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        outbox: NamedDependency[Outbox],
        message_id: FromPath[str],
    ) -> Message:
        """(v1.1) Send a ``failed`` or ``unknown`` reply again, as a new attempt: for
        ``unknown``, the agent accepts that the customer may get it twice."""
        message = await store.outbound.retry(tenant.id, message_id, datetime.now(UTC))
        if message is None:
            found = await store.messages.get(tenant.id, message_id)
            if found is None or "outbound" not in found:
                raise NotFound("no such reply")
            raise Conflict(
                f"only a failed or unknown reply is sent again; this one is {found['status']}",
                details={"status": found["status"]},
            )
        await publish(outbox, store, message, current_correlation_id())
        return await message_view(store, tenant.id, message)


class UploadsApi(Controller):
    path = "/v1/uploads"
    tags = ("replies",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @post("/", status_code=201, responses=errors(413, 422))
    async def upload(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> UploadOut:
        """(v1.1) A file to attach to a reply (multipart, field ``data``): its ``upload_id``."""
        filename = (data.filename or "file").rsplit("/", 1)[-1][:200] or "file"
        mime_type = (
            data.content_type
            if data.content_type and data.content_type != "application/octet-stream"
            else mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        upload_id = uuid.uuid4().hex
        writer = await store.media.open_upload(upload_id, filename)
        digest = hashlib.sha256()
        size = 0
        while chunk := await data.read(256 * 1024):
            size += len(chunk)
            if size > settings.upload_max_bytes:
                await writer.abort()
                raise Unprocessable(
                    f"a file may be at most {settings.upload_max_bytes} bytes",
                    details=[{"field": "data", "message": "too large"}],
                )
            digest.update(chunk)
            await writer.write(chunk)
        if size == 0:
            await writer.abort()
            raise Unprocessable("the file is empty", details=[{"field": "data"}])
        await writer.close(sha256=digest.hexdigest(), content_type=mime_type)
        document: UploadDocument = {
            "_id": upload_id,
            "tenant_id": tenant.id,
            "filename": filename,
            "mime_type": mime_type,
            "kind": _kind(mime_type),
            "size": size,
            "sha256": digest.hexdigest(),
            "created_at": datetime.now(UTC),
        }
        await store.outbound.add_upload(document)
        return UploadOut(
            upload_id=upload_id,
            filename=filename,
            mime_type=mime_type,
            kind=document["kind"],
            size=size,
        )


async def publish(
    outbox: Outbox, store: Store, message: MessageDocument, correlation: str | None
) -> None:
    """Put the reply's current attempt on ``chat.outbound.v1`` unless it is there already."""
    outbound = message["outbound"]
    if outbound.get("published"):
        return
    attempt = outbound["attempt"]
    event = OutboundEvent(
        event_id=outbound_event_id(message["_id"], attempt),
        tenant_id=message["tenant_id"],
        message_id=message["_id"],
        thread_id=message["thread_id"],
        channel=message["channel"],
        recipient=message["participant"]["channel_user_id"],
        attempt=attempt,
        requested_at=outbound["requested_at"],
    )
    await outbox.publish("outbound", [event], correlation)
    await store.outbound.published(message["_id"], attempt)


async def message_view(store: Store, tenant_id: str, message: MessageDocument) -> Message:
    quoted = await quoted_messages(store, tenant_id, [message])
    target = message["content"].get("reply_to_provider_message_id")
    return Message.from_document(
        message, quoted.get(target) if target else None, await media_of(store, [message])
    )


async def _reply(store: Store, tenant: Tenant, thread_id: str, data: ReplyIn) -> Reply:
    files: list[ReplyFile] = []
    for index, given in enumerate(data.attachments):
        upload = await store.outbound.upload(tenant.id, given.upload_id)
        if upload is None:
            raise Unprocessable(
                "no such upload", details=[{"field": f"attachments.{index}.upload_id"}]
            )
        files.append(
            ReplyFile(
                upload_id=upload["_id"],
                kind=upload["kind"],
                mime_type=upload["mime_type"],
                filename=upload["filename"],
                size=upload["size"],
            )
        )
    quoted = None
    if data.reply_to is not None:
        quoted = await store.messages.get(tenant.id, data.reply_to)
        if quoted is None or quoted["thread_id"] != thread_id or quoted["direction"] == "note":
            raise BadRequest(
                "reply_to is not a message of this thread", details=[{"field": "reply_to"}]
            )
        if not quoted["provider_message_id"]:
            raise BadRequest("that message has not been sent yet", details=[{"field": "reply_to"}])
    template = (
        ReplyTemplate(
            name=data.template.name,
            language=data.template.language,
            parameters=list(data.template.parameters),
        )
        if data.template
        else None
    )
    return Reply(
        text=data.text, files=files, template=template, reply_to=quoted, author=data.author
    )


def _api_error(refused: ReplyRefused) -> ApiError:
    details = [{"field": refused.field, "message": refused.message}] if refused.field else None
    match refused.code:
        case "template_required":
            return TemplateRequired(refused.message)
        case "opted_out":
            return OptedOut(refused.message)
        case "idempotency_key_reused":
            return IdempotencyKeyReused(refused.message)
        case "conflict":
            return Conflict(refused.message)
    return Unprocessable(refused.message, details=details)


def _sender_address(tenant: Tenant) -> str | None:
    return tenant.smtp.from_address if tenant.smtp is not None else None


def _kind(mime_type: str) -> str:
    major = mime_type.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


class UploadLinksApi(Controller):
    """``GET /uploads/{id}``: a reply's file for a provider that fetches media by URL, with
    the time-limited signature the worker gave it (``domain.links``); no API key."""

    path = "/uploads"
    include_in_schema = False

    @get("/{upload_id:str}")
    async def fetch(
        self,
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        tenants: NamedDependency[TenantDirectory],
        upload_id: FromPath[str],
        expires: FromQuery[int],
        signature: FromQuery[str],
    ) -> Stream:
        key = link_key(settings, tenants)
        if key is None or not link_valid(upload_id, expires, signature, key, datetime.now(UTC)):
            raise Forbidden("the link is not valid or has expired")
        file = await store.media.file(upload_id)
        if file is None:
            raise NotFound("no such file")
        metadata = file.get("metadata") or {}
        return Stream(
            store.media.read(file, 0, int(file["length"]) - 1),
            media_type=metadata.get("content_type") or "application/octet-stream",
            headers={"Content-Length": str(file["length"]), "Cache-Control": "private, no-store"},
        )
