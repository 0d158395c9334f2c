"""Resident memory of a process, from /proc (Linux): its level, and its peak over a block."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

#: How often the level is read beside the kernel's own peak.
POLL_SECONDS = 0.01


def resident_bytes(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (the level now) or ``VmHWM`` (the peak) of ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise LookupError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Set the high-water mark of ``pid`` back to its level now; false when refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class PeakMemory:
    """Resident bytes before a block and the most reached during it (set when it ends)."""

    before: int
    peak: int
    #: The kernel's peak was reset before the block and read after it; without it only the
    #: polled levels count, which can miss a short spike.
    exact: bool = False

    @property
    def growth(self) -> int:
        return self.peak - self.before


@contextlib.asynccontextmanager
async def peak_memory(pid: int) -> AsyncIterator[PeakMemory]:
    """Watch ``pid`` for the duration of the block: its high-water mark, reset to the current
    level first (writing 5 to ``clear_refs``), and its level every ``POLL_SECONDS``."""
    before = resident_bytes(pid)
    found = PeakMemory(before, before, exact=reset_peak(pid))
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set():
            found.peak = max(found.peak, resident_bytes(pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), POLL_SECONDS)

    polling = asyncio.create_task(poll())
    try:
        yield found
    finally:
        done.set()
        await polling
        if found.exact:
            found.peak = max(found.peak, resident_bytes(pid, "VmHWM"))
