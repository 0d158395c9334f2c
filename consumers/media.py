"""(v1.1) The media worker: every attachment's file fetched when its message arrives, kept in
GridFS, in its own consumer groups so a slow provider never holds messages back.

- ``MediaHandler`` reads ``chat.messages.v1`` (group ``threadline-media``) and records each
  attachment that has a file, due at once (an email's: checked after a while, its bytes
  being on their way).
- ``MediaChunksHandler`` reads ``chat.media.v1`` (group ``threadline-media-files``): each
  chunk of an email's attachment written where it belongs; the last one completes the file.
- ``MediaFetcher`` takes due attachments one at a time from the ``media`` collection, holding
  each for ``MEDIA_FETCH_LEASE`` (renewed while it downloads), and streams the provider's
  answer into GridFS. A failure is tried again later with back-off, up to
  ``MEDIA_FETCH_ATTEMPTS`` times, then the attachment is unavailable with the reason.
"""

import asyncio
import base64
import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from consumers.errors import known_tenant
from consumers.media_sources import (
    Fetch,
    Unavailable,
    cdn,
    digest_matches,
    graph_download,
    graph_lookup,
    refusal,
    twilio_media,
)
from contracts import (
    CHUNK_BYTES,
    ConsentEvent,
    IdentityEvent,
    MediaChunkEvent,
    MessageEditEvent,
    MessageEvent,
    Settings,
    Tenant,
    TenantDirectory,
    attachment_id,
)
from domain.documents import MediaDocument
from domain.media import media_documents, retry_delay
from domain.store.database import Store

log = structlog.get_logger(__name__)

#: Redirects followed per request (Twilio's media URL redirects once, to its CDN).
_MAX_REDIRECTS = 5
#: How often an idle fetcher looks for due attachments (a retry may wait this much longer).
_IDLE_POLL = 1.0


class MediaHandler:
    """Records the attachments of each message; the other events of the topic are not its."""

    def __init__(self, store: Store, tenants: TenantDirectory, settings: Settings) -> None:
        self.store = store
        self.tenants = tenants
        self.settings = settings

    async def handle(self, event: Any) -> None:
        await self.handle_batch([event])

    async def handle_batch(
        self, events: list[MessageEvent | MessageEditEvent | IdentityEvent | ConsentEvent]
    ) -> None:
        now = datetime.now(UTC)
        documents: list[MediaDocument] = []
        for event in events:
            if isinstance(event, MessageEvent) and event.content.attachments:
                known_tenant(self.tenants, event.tenant_id)
                documents += media_documents(
                    event,
                    now=now,
                    max_bytes=self.settings.media_max_bytes,
                    email_wait=self.settings.media_retry_after,
                )
        await self.store.media.register(documents)


class MediaChunksHandler:
    """Writes each chunk of an email's attachment; the last one completes the file."""

    def __init__(self, store: Store, tenants: TenantDirectory) -> None:
        self.store = store
        self.tenants = tenants

    async def handle(self, chunk: MediaChunkEvent) -> None:
        known_tenant(self.tenants, chunk.tenant_id)
        attachment = attachment_id(chunk.message_event_id, chunk.index)
        data = base64.b64decode(chunk.data_base64, validate=True)
        stored = await self.store.media.put_chunk(attachment, chunk.part, data)
        if stored < chunk.parts:
            return
        file = await self.store.media.complete_from_chunks(
            attachment,
            size=chunk.size,
            sha256=chunk.sha256,
            filename=chunk.filename,
            content_type=chunk.content_type,
        )
        if file is None:
            raise ValueError(f"the chunks of {attachment} do not make the announced file")
        now = datetime.now(UTC)
        await self.store.media.stored(
            attachment,
            file,
            {
                "tenant_id": chunk.tenant_id,
                "message_id": str(chunk.message_event_id),
                "index": chunk.index,
                "channel": "email",
                "source": "email",
                "locator": None,
                "mime_type": chunk.content_type,
                "attempts": 0,
                "created_at": now,
            },
        )
        await self.store.messages.media_changed(str(chunk.message_event_id), now)
        log.info("media_stored", attachment=attachment, size=chunk.size, source="email")


class _Retry(Exception):
    """This attempt failed; a later one may not."""


class MediaFetcher:
    """Fetches due attachments, ``MEDIA_CONCURRENCY`` at a time, until stopped."""

    def __init__(
        self,
        store: Store,
        tenants: TenantDirectory,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.settings = settings
        timeout = settings.media_fetch_timeout.total_seconds()
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._lease = settings.media_fetch_lease

    async def run(self, stop: asyncio.Event) -> None:
        running: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(self.settings.media_concurrency)
        try:
            while not stop.is_set():
                await slots.acquire()
                now = datetime.now(UTC)
                job = await self.store.media.claim_due(now, now + self._lease)
                if job is None:
                    slots.release()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), _IDLE_POLL)
                    continue
                task = asyncio.create_task(self._fetch_one(job), name=f"media-{job['_id']}")
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _: slots.release())
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self._http.aclose()

    async def _fetch_one(self, job: MediaDocument) -> None:
        attachment = job["_id"]
        holding = asyncio.create_task(self._hold(attachment))
        try:
            await self._fetch(job)
        except Unavailable as refused:
            await self._give_up(job, str(refused))
        except (_Retry, httpx.HTTPError) as failure:
            reason = _reason(failure)
            if job["attempts"] >= self.settings.media_fetch_attempts:
                await self._give_up(job, reason)
            else:
                delay = retry_delay(job["attempts"], self.settings.media_retry_after)
                log.info("media_retry", attachment=attachment, reason=reason, retry_in=delay)
                await self.store.media.retry_at(attachment, datetime.now(UTC) + delay, reason)
        except Exception:
            # A bug, or MongoDB away: the hold runs out and the fetch is tried again then.
            log.exception("media_fetch_failed", attachment=attachment)
        finally:
            holding.cancel()

    async def _give_up(self, job: MediaDocument, reason: str) -> None:
        log.warning("media_unavailable", attachment=job["_id"], reason=reason)
        await self.store.media.unavailable(job["_id"], reason)
        await self.store.messages.media_changed(job["message_id"], datetime.now(UTC))

    async def _hold(self, attachment: str) -> None:
        """Keep the claim while the fetch runs."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            await self.store.media.hold(attachment, datetime.now(UTC) + self._lease)

    async def _fetch(self, job: MediaDocument) -> None:
        attachment = job["_id"]
        if (file := await self.store.media.file(attachment)) is not None:
            await self.store.media.stored(attachment, file, job)  # stored before a crash
            await self.store.messages.media_changed(job["message_id"], datetime.now(UTC))
            return
        tenant = self.tenants.get(job["tenant_id"])
        if tenant is None:
            raise Unavailable(f"no tenant {job['tenant_id']!r} in the tenants file")
        source, locator = job["source"], job.get("locator") or ""
        expected: tuple[int | None, str | None] = (None, None)
        if source == "email":
            raise _Retry("the email's attachment bytes have not all arrived")
        if source == "graph":
            lookup = await self._json(graph_lookup(self.settings, tenant, locator))
            fetch, size, digest = graph_download(tenant, lookup)
            expected = (size, digest)
            mime = lookup.get("mime_type")
            job = {**job, "mime_type": mime if isinstance(mime, str) else job.get("mime_type")}
        elif source == "twilio":
            fetch = twilio_media(self.settings, tenant, locator)
        else:
            fetch = cdn(locator)
        await self._download(job, tenant, fetch, expected)

    async def _json(self, fetch: Fetch) -> dict[str, Any]:
        async with self._get(fetch) as response:
            body = await response.aread()
        try:
            parsed = json.loads(body)
        except ValueError as error:
            raise _Retry(f"{fetch.url} answered no JSON") from error
        if not isinstance(parsed, dict):
            raise _Retry(f"{fetch.url} answered no JSON object")
        return parsed

    @contextlib.asynccontextmanager
    async def _get(self, fetch: Fetch) -> Any:
        """The provider's answer once it is 2xx, following redirects, with credentials only
        where they belong."""
        url = fetch.url
        for _ in range(_MAX_REDIRECTS + 1):
            request = self._http.build_request("GET", url, headers=fetch.headers_for(url))
            response = await self._http.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                if response.status_code >= 400:
                    body = await response.aread()
                    raise _Retry(f"{_host(url)} {refusal(response.status_code, body)}")
                yield response
                return
            finally:
                await response.aclose()
        raise _Retry(f"{_host(fetch.url)} redirected more than {_MAX_REDIRECTS} times")

    async def _download(
        self,
        job: MediaDocument,
        tenant: Tenant,
        fetch: Fetch,
        expected: tuple[int | None, str | None],
    ) -> None:
        limit = self.settings.media_max_bytes
        size, digest = expected
        if size is not None and size > limit:
            raise Unavailable(f"larger than MEDIA_MAX_BYTES ({size} > {limit} bytes)")
        attachment = job["_id"]
        async with self._get(fetch) as response:
            announced = response.headers.get("content-length")
            if announced and announced.isdigit() and int(announced) > limit:
                raise Unavailable(f"larger than MEDIA_MAX_BYTES ({announced} > {limit} bytes)")
            content_type = _content_type(response, job)
            upload = await self.store.media.open_upload(attachment, job.get("filename"))
            hashed = hashlib.sha256()
            written = 0
            try:
                async for data in response.aiter_bytes(CHUNK_BYTES):
                    written += len(data)
                    if written > limit:
                        raise Unavailable(f"larger than MEDIA_MAX_BYTES (over {limit} bytes)")
                    hashed.update(data)
                    await upload.write(data)
            except BaseException:
                await upload.abort()
                raise
        if digest is not None and digest_matches(hashed.digest(), digest) is False:
            await upload.abort()
            raise _Retry("the file's sha256 differs from the one its provider announced")
        await upload.close(sha256=hashed.hexdigest(), content_type=content_type)
        file = await self.store.media.file(attachment)
        if file is None:
            raise _Retry("the stored file disappeared")
        await self.store.media.stored(attachment, file, job)
        await self.store.messages.media_changed(job["message_id"], datetime.now(UTC))
        log.info("media_stored", attachment=attachment, size=written, source=job["source"])


def _content_type(response: httpx.Response, job: MediaDocument) -> str | None:
    announced: str = response.headers.get("content-type", "").split(";")[0].strip()
    if announced and announced != "application/octet-stream":
        return announced
    known: str | None = job.get("mime_type")
    return known or announced or None


def _host(url: str) -> str:
    return httpx.URL(url).host


def _reason(failure: Exception) -> str:
    if isinstance(failure, httpx.HTTPError):
        return f"could not fetch: {type(failure).__name__}: {failure}"[:300]
    return str(failure)[:300]
