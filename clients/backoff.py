"""Waiting between attempts at reaching a dependency that is down."""

import asyncio
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Waits that double from ``initial`` up to ``maximum`` seconds, until :meth:`reset`."""

    initial: float = 0.2
    maximum: float = 5.0
    _next: float = field(init=False)

    def __post_init__(self) -> None:
        self._next = self.initial

    @property
    def delay(self) -> float:
        """How long the next :meth:`wait` sleeps."""
        return self._next

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self.maximum)

    def reset(self) -> None:
        """The dependency answered: the next failure waits ``initial`` again."""
        self._next = self.initial
