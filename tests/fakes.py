"""Fakes for unit tests of pure logic, where a fake is honest; integration tests use the real
servers."""

from collections.abc import Sequence

from ingest.webhooks.publisher import PublishError, RecordsRefused
from ingest.webhooks.records import ProducerRecord


class MemoryPublisher:
    """Keeps what it is given; fails on demand, as an unreachable broker would."""

    def __init__(self, *, fail: bool = False, refuse_over: int | None = None) -> None:
        self.records: list[ProducerRecord] = []
        #: Every batch it was given while failing, so a test can tell "refused" from "never
        #: offered".
        self.refused: list[list[ProducerRecord]] = []
        self.fail = fail
        #: Records with a longer value are refused for good, as a topic's size limit would;
        #: the dead-letter topic takes any size.
        self.refuse_over = refuse_over

    async def publish(self, records: Sequence[ProducerRecord]) -> None:
        if self.fail:
            self.refused.append(list(records))
            raise PublishError("broker unreachable")
        limit = self.refuse_over
        if limit is not None and any(
            len(r.value) > limit for r in records if r.kind != "deadletter"
        ):
            raise RecordsRefused("MessageSizeTooLargeError")
        self.records.extend(records)

    async def ping(self) -> bool:
        return not self.fail
