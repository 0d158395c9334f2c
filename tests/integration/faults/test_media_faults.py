"""(v1.1) The media worker SIGKILLed in the middle of a download: after a restart the file
is stored exactly once, whole."""

import hashlib
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from contracts import CHUNK_BYTES, Settings
from domain.store.database import Store
from tests.integration.consumers.test_media import with_attachment
from tests.integration.faults.test_consumer_faults import produce
from tests.integration.processes import start_consumer
from tests.media_servers import GraphMediaServer
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.faults]

TOKEN = "acme-graph-token"


async def test_killed_mid_download_stores_the_file_once(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    audio = os.urandom(4 * 1024 * 1024)
    with GraphMediaServer(TOKEN) as graph:
        # 64 chunks of 64 KiB, 50 ms apart: a download of about three seconds.
        graph.add("voice-1", audio, "audio/ogg", delay_per_chunk=0.05)
        configured = settings.model_copy(
            update={
                "graph_api_url": graph.base_url,
                "media_fetch_lease": timedelta(seconds=2),
                "media_retry_after": timedelta(seconds=0.2),
            }
        )
        event = with_attachment(
            9, {"kind": "audio", "provider_media_id": "voice-1", "mime_type": "audio/ogg"}
        )
        attachment = f"{event.event_id}:0"
        await produce(configured, [event])
        worker = start_consumer(configured, "media", tmp_path)
        restarted = None
        try:

            async def downloading() -> bool:
                chunks = store.database["media_files.chunks"]
                return await chunks.count_documents({"files_id": attachment}) >= 2

            await eventually(downloading, within=60, what="the download to be under way")
            worker.signal(signal.SIGKILL)
            assert worker.process is not None
            worker.process.wait(10)
            assert await store.media.file(attachment) is None  # cut short: no file yet

            restarted = start_consumer(configured, "media", tmp_path)

            async def stored() -> bool:
                record = await store.media.get(attachment)
                return record is not None and record.get("state") == "stored"

            await eventually(stored, within=60, what="the file stored after the restart")
        finally:
            worker.stop()
            if restarted is not None:
                restarted.stop()
        lookups = [r for r in graph.requests if r.path.startswith("/v23.0/")]
    assert len(lookups) == 2  # one per worker: the restart fetched it again, once
    assert await store.database["media_files.files"].count_documents({}) == 1
    chunks = await store.database["media_files.chunks"].count_documents({"files_id": attachment})
    assert chunks == len(audio) // CHUNK_BYTES
    file = await store.media.file(attachment)
    assert file is not None
    read = b"".join([data async for data in store.media.read(file, 0, len(audio) - 1)])
    assert hashlib.sha256(read).digest() == hashlib.sha256(audio).digest()
