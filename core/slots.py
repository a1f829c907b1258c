"""Places for work on the network: at most ``size`` deliveries at once, the rest waiting in turn.

What ``asyncio.Semaphore`` does, for the runtime's case: many deliveries waiting (replay keeps
several times the concurrency in flight, so that one person's queue never holds up the
others). There, Python 3.11's semaphore looks through every waiter on each acquire and
removes each woken waiter by search; this one hands a freed place straight to the first
waiter, allocates nothing when a place is free, and costs the same however many wait.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class Slots:
    """``async with slots:`` takes one of ``size`` places for the block, waiting in turn if none is free
    (or :meth:`take` and :meth:`release`, when the place outlives a block)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self.size = size
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for turn in self._waiting if not turn.done())

    async def __aenter__(self) -> None:
        await self.take()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    async def take(self, within: float | None = None) -> None:
        """Take a place, waiting in turn; ``TimeoutError`` when none came within ``within`` seconds."""
        if self._free and not self._waiting:
            self._free -= 1
            return
        if within is None:
            await self._wait()
            return
        async with asyncio.timeout(within):
            await self._wait()

    async def _wait(self) -> None:
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a place as it was cancelled: pass it on
                self.release()
            elif turn in self._waiting:
                self._waiting.remove(turn)
            raise

    def release(self) -> None:
        """Give back a place taken with :meth:`take`."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the place passes to this waiter
                return
        self._free += 1
