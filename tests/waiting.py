"""The one way tests wait: poll a check until it gives something, within a deadline.

Use it only where the code under test offers nothing to await (a database row, a metric, a
spooler's backlog); a bare ``sleep`` would make a test slow when it passes and flaky when the
machine is busy.
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What a test waited for did not happen in time (an AssertionError, so it fails the test
    rather than erroring it)."""


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.1
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None], *, within: float, what: str, every: float = 0.1
) -> T: ...


async def eventually(
    check: Callable[[], object], *, within: float, what: str, every: float = 0.1
) -> object:
    """Call (and await, if it is async) ``check`` every ``every`` seconds until it returns
    something truthy, and return that; raise WaitTimeout naming ``what`` after ``within``
    seconds, a check still running then included."""
    last: object = None
    deadline = asyncio.timeout(within)
    try:
        async with deadline:
            while True:
                last = check()
                if inspect.isawaitable(last):
                    last = await last
                if last:
                    return last
                await asyncio.sleep(every)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own timeout, not ours
        raise WaitTimeout(f"{what}: not within {within:g} s (last check gave {last!r})") from None
