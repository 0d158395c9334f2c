"""(v1.1) The ``outbound`` worker: sends each reply the read API stored, once.

For each ``chat.outbound.v1`` record: the reply's current attempt is claimed in MongoDB, sent
with its provider's sender, and the outcome written (``sent`` with the provider's id,
``failed`` with its code and title, or ``unknown``). The offset is committed after that
write. A record delivered again after a crash finds its attempt claimed: whether the provider
got it cannot be known, so the reply becomes ``unknown`` and is not sent again unless staff
retry it. A provider's rate limit is waited out (the attempt released meanwhile, as it is
known not to have been sent) up to ``SEND_ATTEMPTS`` times.
"""

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from pymongo.errors import PyMongoError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from consumers import metrics
from consumers.errors import known_tenant
from consumers.senders import (
    EmailThreading,
    Outgoing,
    OutgoingFile,
    Refused,
    SenderPicker,
    Sent,
    Template,
    Unknown,
)
from contracts import Channel, OutboundEvent, Settings, Tenant, TenantDirectory
from domain import outbound
from domain.documents import MessageDocument
from domain.links import link_key, upload_link
from domain.store.database import Store

log = structlog.get_logger(__name__)

#: Sends of one attempt, rate limits included, before it is given up as failed.
SEND_ATTEMPTS = 4
#: The longest a rate limit is waited out at once.
MAX_WAIT = 60.0


class OutboundHandler:
    def __init__(
        self, store: Store, tenants: TenantDirectory, settings: Settings, pick: SenderPicker
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.settings = settings
        self.pick = pick
        self.link_key = link_key(settings, tenants)

    async def handle(self, event: OutboundEvent) -> None:
        tenant = known_tenant(self.tenants, event.tenant_id)
        message = await self.store.outbound.get(event.message_id)
        if message is None or message.get("outbound", {}).get("attempt") != event.attempt:
            log.info("outbound_stale", message_id=event.message_id, attempt=event.attempt)
            return
        for round_ in range(SEND_ATTEMPTS):
            if not await self.store.outbound.claim(event.message_id, event.attempt):
                await self._claimed_before(event)
                return
            outgoing = await self._outgoing(tenant, message)
            sender = self.pick(message["provider"], message["channel"])
            started = time.perf_counter()
            outcome = await sender.send(outgoing)
            metrics.SEND_LATENCY.labels(message["channel"]).observe(time.perf_counter() - started)
            now = datetime.now(UTC)
            match outcome:
                case Sent(provider_message_id=provider_id):
                    await _written(
                        functools.partial(
                            outbound.record_sent,
                            self.store,
                            message,
                            event.attempt,
                            provider_id,
                            now,
                        )
                    )
                    metrics.SENDS.labels(message["channel"], "sent").inc()
                    log.info("reply_sent", message_id=message["_id"], channel=message["channel"])
                    return
                case Unknown(reason=reason):
                    await self.store.outbound.unknown(message["_id"], event.attempt, reason)
                    metrics.SENDS.labels(message["channel"], "unknown").inc()
                    log.warning("reply_outcome_unknown", message_id=message["_id"], reason=reason)
                    return
                case Refused(retry_after=wait) if wait is not None and round_ < SEND_ATTEMPTS - 1:
                    await self.store.outbound.release(message["_id"], event.attempt)
                    metrics.SENDS.labels(message["channel"], "rate_limited").inc()
                    log.info("reply_waiting", message_id=message["_id"], seconds=wait)
                    await asyncio.sleep(min(wait, MAX_WAIT))
                case Refused(code=code, title=title, opted_out=opted_out):
                    await outbound.record_refused(
                        self.store,
                        message,
                        event.attempt,
                        code,
                        title,
                        opted_out=opted_out,
                        at=now,
                    )
                    metrics.SENDS.labels(message["channel"], "failed").inc()
                    log.info("reply_failed", message_id=message["_id"], code=code)
                    return

    async def _claimed_before(self, event: OutboundEvent) -> None:
        """The attempt was claimed already: by a worker that stopped while sending (the
        reply is still pending), or it was settled (nothing to do)."""
        found = await self.store.outbound.get(event.message_id)
        if found is None or found["status"] != "pending":
            return
        if found["outbound"].get("claimed") == event.attempt:
            await self.store.outbound.unknown(
                event.message_id,
                event.attempt,
                "sending was interrupted: the provider may have received it",
            )
            metrics.SENDS.labels(found["channel"], "unknown").inc()
            log.warning("reply_interrupted", message_id=event.message_id)

    async def _outgoing(self, tenant: Tenant, message: MessageDocument) -> Outgoing:
        content = message["content"]
        sending = message["outbound"]
        files = [await self._file(attachment) for attachment in content.get("attachments") or []]
        template = sending.get("template")
        email = message.get("email") or None
        participant = message["participant"]
        channel = Channel(message["channel"])
        recipient = (
            participant.get("email") or participant["channel_user_id"]
            if channel is Channel.EMAIL
            else participant.get("phone") or participant["channel_user_id"]
            if channel is Channel.SMS
            else participant["channel_user_id"]
        )
        return Outgoing(
            message_id=message["_id"],
            tenant=tenant,
            channel=channel,
            provider=message["provider"],
            recipient=recipient,
            business_account=message["business"].get("channel_account_id") or "",
            text=None if template else content.get("text"),
            attachments=files,
            template=Template(template["name"], template["language"], template["parameters"])
            if template
            else None,
            reply_to=content.get("reply_to_provider_message_id"),
            human_agent_tag=bool(sending.get("human_agent_tag")),
            email=EmailThreading(
                subject=str(email.get("subject") or ""),
                message_id=str(email["message_id"]),
                in_reply_to=email.get("in_reply_to"),
                references=list(email.get("references") or []),
            )
            if email
            else None,
            status_callback=f"{self.settings.public_base_url.rstrip('/')}/webhooks/sms/twilio"
            if message["provider"] == "twilio"
            else None,
        )

    async def _file(self, attachment: dict[str, object]) -> OutgoingFile:
        locator = str(attachment.get("provider_media_id") or "")
        upload_id = locator.removeprefix("upload:")
        file = await self.store.media.file(upload_id)
        if file is None:
            raise LookupError(f"upload {upload_id} is gone")
        data = b"".join(
            [chunk async for chunk in self.store.media.read(file, 0, int(file["length"]) - 1)]
        )
        link = (
            upload_link(self.settings.public_base_url, upload_id, self.link_key, datetime.now(UTC))
            if self.link_key
            else None
        )
        return OutgoingFile(
            public_url=link,
            kind=str(attachment.get("kind") or "document"),
            mime_type=str(attachment.get("mime_type") or "application/octet-stream"),
            filename=str(attachment.get("filename") or "file"),
            data=data,
        )


async def _written(write: Callable[[], Awaitable[None]]) -> None:
    """Write the outcome of a send that happened, retrying MongoDB for a minute: losing it
    would leave the reply to be settled as unknown."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(PyMongoError),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(60),
        reraise=True,
    ):
        with attempt:
            await write()
