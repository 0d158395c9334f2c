"""The durable spool on a real file: order, persistence, ownership, size limit, draining."""

import asyncio
import base64
from pathlib import Path

import pytest

from contracts import IngestDeadLetter, Settings, TenantDirectory
from ingest.errors import ServiceUnavailable
from ingest.webhooks.pipeline import Ingestor
from ingest.webhooks.records import ProducerRecord
from ingest.webhooks.spool import Spool, SpoolFull
from ingest.webhooks.spooler import Spooler
from tests.factories import message_event
from tests.fakes import MemoryPublisher
from tests.waiting import eventually


async def drained(spooler: Spooler) -> None:
    """Until the spooler's backlog is empty (it offers no event to wait on)."""
    await eventually(
        lambda: spooler.backlog == 0, within=10, every=0.02, what="an empty spool backlog"
    )


def record(number: int, *, size: int = 10) -> ProducerRecord:
    return ProducerRecord(
        topic="chat.messages.v1",
        key=f"acme:sms:{number}".encode(),
        value=b"x" * size,
        headers=[("event_id", str(number).encode()), ("binary", bytes([0, 200, 255]))],
        kind="message",
    )


def claim(directory: Path, max_bytes: int = 1 << 20) -> Spool:
    return Spool.claim(directory, max_bytes)


async def test_records_survive_closing_and_come_back_in_order(tmp_path: Path) -> None:
    """What was appended is read back after a reopen, oldest first, byte for byte."""
    spool = claim(tmp_path)
    await asyncio.gather(*(spool.append([record(n)], "sms") for n in range(20)))
    await spool.append([record(20), record(21)], "sms")
    await spool.close()

    reopened = claim(tmp_path)
    head = await reopened.head(100, 1 << 20)
    assert [spooled.record for spooled in head] == [record(n) for n in range(22)]
    assert len(reopened) == 22
    assert reopened.stats.oldest_spooled_at is not None
    await reopened.close()


async def test_a_slot_has_one_owner_at_a_time(tmp_path: Path) -> None:
    """A second process (here: a second claim) gets its own slot, not the first one's."""
    first = claim(tmp_path)
    second = claim(tmp_path)
    assert first.path.name == "slot-0.db"
    assert second.path.name == "slot-1.db"
    assert Spool.try_open(first.path, 1 << 20) is None
    await first.close()
    taken_over = Spool.try_open(first.path, 1 << 20)
    assert taken_over is not None
    await taken_over.close()
    await second.close()


async def test_a_full_spool_refuses_and_keeps_what_it_had(tmp_path: Path) -> None:
    """Past the size limit an append raises SpoolFull; earlier records stay."""
    spool = claim(tmp_path, max_bytes=100)
    await spool.append([record(1, size=40)], "sms")
    with pytest.raises(SpoolFull):
        await spool.append([record(2, size=60)], "sms")
    assert [s.record for s in await spool.head(10, 1 << 20)] == [record(1, size=40)]
    await spool.close()


async def test_head_is_bounded_by_bytes_but_never_empty(tmp_path: Path) -> None:
    """A drain step takes at least one record, however large, and stops at the byte bound."""
    spool = claim(tmp_path)
    await spool.append([record(n, size=1000) for n in range(5)], "sms")
    assert len(await spool.head(10, 10)) == 1
    assert len(await spool.head(10, 2100)) == 2
    first = (await spool.head(1, 1))[0]
    await spool.remove_through(first.id)
    assert len(spool) == 4
    assert spool.stats.size_bytes == sum(len(record(n, size=1000).key) + 1000 for n in range(1, 5))
    assert spool.stats.oldest_spooled_at is not None
    assert (await spool.head(1, 1 << 20))[0].record == record(1, size=1000)
    await spool.close()


async def test_spooler_drains_in_order_once_kafka_takes_records(tmp_path: Path) -> None:
    """Nothing leaves the spool while publishing fails, though the spooler keeps offering it;
    then everything goes, in order."""
    publisher = MemoryPublisher(fail=True)
    spooler = Spooler(claim(tmp_path), publisher, Settings(spool_dir=tmp_path))
    for n in range(5):
        await spooler.append([record(n)], "sms")
    spooler.start()
    # The control: the drainer did offer the records, twice, so their staying is its doing.
    await eventually(
        lambda: len(publisher.refused) >= 2, within=10, every=0.02, what="two refused drains"
    )
    assert publisher.refused[:2] == [[record(n) for n in range(5)]] * 2
    assert publisher.records == []
    assert spooler.backlog == 5

    publisher.fail = False
    await drained(spooler)
    assert publisher.records == [record(n) for n in range(5)]
    await spooler.close(drain_within=1)


async def test_spooler_adopts_the_slot_of_a_process_that_is_gone(tmp_path: Path) -> None:
    """A slot nobody owns any more is drained by a live process's spooler."""
    orphan = claim(tmp_path)
    await orphan.append([record(1), record(2)], "sms")
    own = claim(tmp_path)  # slot-1: the orphan still holds slot-0 here
    await orphan.close()  # its owner is gone

    publisher = MemoryPublisher()
    spooler = Spooler(own, publisher, Settings(spool_dir=tmp_path))
    spooler.start()
    await eventually(
        lambda: len(publisher.records) == 2, within=10, every=0.02, what="the orphan's records"
    )
    assert publisher.records == [record(1), record(2)]
    await spooler.close(drain_within=1)


async def test_ingestor_spools_when_kafka_fails_and_keeps_order_behind_a_backlog(
    tmp_path: Path, tenants: TenantDirectory
) -> None:
    """A failed publish is spooled (no error); later events queue behind the backlog even
    when Kafka answers again, and 503 comes only from a full spool."""
    publisher = MemoryPublisher(fail=True)
    spooler = Spooler(claim(tmp_path, max_bytes=4000), publisher, Settings(spool_dir=tmp_path))
    ingestor = Ingestor(publisher, Settings(), tenants, spooler)

    await ingestor.publish("sms", [message_event(provider_message_id="SM1")], None)
    publisher.fail = False
    await ingestor.publish("sms", [message_event(provider_message_id="SM2")], None)
    assert publisher.records == []
    assert spooler.backlog == 2

    with pytest.raises(ServiceUnavailable):
        await ingestor.publish(
            "sms", [message_event(provider_message_id="SM3", text="x" * 5000)], None
        )
    spooler.start()
    await drained(spooler)
    assert [b'"SM1"' in r.value for r in publisher.records] == [True, False]
    assert b'"SM2"' in publisher.records[1].value
    await spooler.close(drain_within=1)


async def test_a_record_kafka_refuses_for_good_is_dead_lettered_not_left_blocking(
    tmp_path: Path,
) -> None:
    """A spooled record too large for its topic goes to the dead-letter topic with the reason;
    the records around it are published in order."""
    publisher = MemoryPublisher(fail=True, refuse_over=100)
    spooler = Spooler(claim(tmp_path), publisher, Settings(spool_dir=tmp_path))
    await spooler.append([record(1), record(2, size=500), record(3)], "email")
    publisher.fail = False
    spooler.start()
    await drained(spooler)
    await spooler.close(drain_within=1)

    first, letter, last = publisher.records
    assert (first, last) == (record(1), record(3))
    assert letter.topic == "ingest.deadletter.v1"
    value = IngestDeadLetter.model_validate_json(letter.value)
    assert value.channel == "email"
    assert value.path == "kafka:chat.messages.v1"
    assert base64.b64decode(value.body_base64) == b"x" * 500
    assert "refused" in value.reason
