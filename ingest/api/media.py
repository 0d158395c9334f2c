"""(v1.1) ``GET /v1/messages/{id}/attachments/{index}``: an attachment's stored file, streamed
from GridFS a chunk at a time, with byte ranges for audio and video players.

Outside the read API's request deadline: a large file to a slow client takes as long as it
takes; each read from the database has its own deadline instead.
"""

import mimetypes
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

import pymongo
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, PathParameter
from litestar.response import Stream

from contracts import Attachment, Settings, Tenant, attachment_id
from domain.documents import MediaDocument
from domain.media import source_of
from domain.store.database import Store
from ingest.api.schemas.errors import ErrorBody, errors
from ingest.errors import ApiError, NotFound

#: Shown in the page rather than downloaded: media a browser plays or shows safely. Anything
#: else (HTML, SVG, PDF with scripts) is a download, never rendered from our origin.
_INLINE = re.compile(r"^(image/(jpeg|png|gif|webp|heic|avif)|audio/[\w.+-]+|video/[\w.+-]+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Pending(ApiError):
    status_code = 202
    code = "pending"
    retry_after = 5


class Gone(ApiError):
    status_code = 410
    code = "unavailable"


class RangeNotSatisfiable(ApiError):
    status_code = 416
    code = "range_not_satisfiable"


class MediaApi(Controller):
    path = "/v1/messages"
    tags = ("messages",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get(
        "/{message_id:str}/attachments/{index:int}",
        responses={
            **errors(404),
            202: ResponseSpec(ErrorBody, description="still being fetched; see Retry-After"),
            200: ResponseSpec(
                str,
                media_type="application/octet-stream",
                description="the whole file",
                generate_examples=False,
            ),
            206: ResponseSpec(
                str,
                media_type="application/octet-stream",
                description="the requested bytes, with Content-Range",
                generate_examples=False,
            ),
            410: ResponseSpec(ErrorBody, description="the provider kept refusing; the reason"),
            416: ResponseSpec(ErrorBody, description="the range is outside the file"),
        },
    )
    async def attachment(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        message_id: FromPath[str],
        index: Annotated[int, PathParameter(ge=0, le=10_000)],
        range_header: Annotated[str | None, HeaderParameter(name="range")] = None,
    ) -> Stream:
        """(v1.1) The attachment's file, with its content type and file name; 202 with
        ``Retry-After`` while it is being fetched, 410 once it is unavailable."""
        deadline = settings.api_database_timeout.total_seconds()
        with pymongo.timeout(deadline):
            message = await store.messages.get(tenant.id, message_id)
            attachments = message["content"].get("attachments") or [] if message else []
            if message is None or index >= len(attachments):
                raise NotFound("no such attachment")
            attachment = Attachment.model_validate(attachments[index])
            if source_of(message["channel"], message.get("provider", ""), attachment) is None:
                raise NotFound("this attachment has no file (a location or a link)")
            file_id = attachment_id(message_id, index)
            record = await store.media.get(file_id)
            if record is not None and record.get("state") == "unavailable":
                raise Gone(
                    "the file could not be fetched", details={"reason": record.get("reason")}
                )
            file = await store.media.file((record or {}).get("file_id") or file_id)
        if file is None or record is None or record.get("state") != "stored":
            raise Pending("the file is still being fetched", details={"state": "pending"})
        name = record.get("filename") or attachment.filename or _default_name(attachment, record)
        return _serve(store, file, record.get("content_type"), name, range_header, deadline)


def _default_name(attachment: Attachment, record: MediaDocument) -> str:
    """``image.jpg`` and the like, for a file its sender gave no name."""
    kind = record.get("content_type") or attachment.mime_type or ""
    return f"{attachment.kind}{mimetypes.guess_extension(kind) or ''}"


def _serve(
    store: Store,
    file: dict[str, Any],
    content_type: str | None,
    name: str,
    wanted: str | None,
    deadline: float,
) -> Stream:
    length = int(file["length"])
    start, end = _range(wanted, length)
    kind = content_type or "application/octet-stream"
    disposition = "inline" if _INLINE.match(kind) else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; {_filename(name)}",
        "Content-Length": str(end - start + 1 if length else 0),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
    }
    status = 200
    if wanted is not None and (start, end) != (0, length - 1):
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{length}"
    body = _bytes(store, file, start, end, deadline) if length else _nothing()
    return Stream(body, status_code=status, media_type=kind, headers=headers)


async def _bytes(
    store: Store, file: dict[str, Any], start: int, end: int, deadline: float
) -> AsyncIterator[bytes]:
    chunks = store.media.read(file, start, end)
    while True:
        with pymongo.timeout(deadline):
            data = await anext(chunks, None)
        if data is None:
            return
        yield data


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def _range(wanted: str | None, length: int) -> tuple[int, int]:
    """The first and last byte a ``Range`` header asks for (RFC 9110 14.1.2; one range; a
    header this does not read is ignored, as the RFC allows)."""
    whole = (0, max(length - 1, 0))
    match = _RANGE.match((wanted or "").strip())
    if match is None:
        return whole
    first, last = match.groups()
    if not first and not last:
        return whole
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise _unsatisfiable(length)
        return max(length - suffix, 0), length - 1
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if start >= length or start > end:
        raise _unsatisfiable(length)
    return start, end


def _unsatisfiable(length: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"the file has {length} bytes", headers={"Content-Range": f"bytes */{length}"}
    )


def _filename(name: str) -> str:
    """``filename`` (ASCII, quotes and controls removed) and ``filename*`` (UTF-8, RFC 8187)."""
    name = name.replace("\\", "_").replace("/", "_")
    plain = "".join(c if 32 <= ord(c) < 127 and c != '"' else "_" for c in name)
    return f"filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
