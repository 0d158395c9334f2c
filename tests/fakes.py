"""Fakes for unit tests of pure logic, where a fake is honest; integration tests use the real
servers."""

from collections.abc import Sequence

from ingest.publisher import PublishError
from ingest.records import Record


class MemoryPublisher:
    """Keeps what it is given; fails on demand, as an unreachable broker would."""

    def __init__(self, *, fail: bool = False) -> None:
        self.records: list[Record] = []
        self.fail = fail

    async def publish(self, records: Sequence[Record]) -> None:
        if self.fail:
            raise PublishError("broker unreachable")
        self.records.extend(records)

    async def ping(self) -> bool:
        return not self.fail
