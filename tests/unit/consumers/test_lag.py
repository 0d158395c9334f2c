"""The lag gauge follows the partitions a member holds, with each one's committed offset."""

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from consumers.lag import LagWatch

TOPIC = "bookings.events.v1"


class Held:
    """The consumer calls LagWatch makes, over partitions a test assigns."""

    def __init__(self, ends: dict[int, int], committed: dict[int, int]) -> None:
        self.ends, self.stored, self.held = ends, committed, set(ends)

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, p) for p in self.held}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp.partition] for tp in partitions}

    async def committed(self, partition: TopicPartition) -> int | None:
        return self.stored.get(partition.partition)


def _lag(group: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "threadline_consumer_lag", {"group": group, "topic": TOPIC, "partition": str(partition)}
    )


async def test_a_partition_that_comes_back_is_measured_from_its_committed_offset() -> None:
    """A partition taken away leaves the gauge; when it returns, the offset another member
    committed meanwhile counts, not the one this member last committed."""
    watch = LagWatch("lag-unit", TOPIC)
    consumer = Held(ends={0: 10, 1: 10}, committed={})
    watch.committed[TopicPartition(TOPIC, 1)] = 4  # this member handled 0-3
    await watch.refresh(consumer)
    assert (_lag("lag-unit", 0), _lag("lag-unit", 1)) == (10, 6)
    consumer.held = {0}
    await watch.refresh(consumer)
    assert _lag("lag-unit", 1) is None
    consumer.held, consumer.stored = {0, 1}, {1: 9}  # the other member got to 9
    await watch.refresh(consumer)
    assert _lag("lag-unit", 1) == 1
