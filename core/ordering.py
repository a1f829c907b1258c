"""Each person's events in the order they came: one FIFO lock per person, only while in use.

The runtime holds ``PersonLocks.hold(ordering_key(event))`` around a delivery, so two events of
one person (``userId``, else ``anonymousId``) never overtake each other while different people
go side by side. Waiters are served first come, first served. A person's entry exists only
while someone holds or waits for it, so memory follows the people in flight, not all the
people ever seen; and holding a person nobody else waits for allocates no lock, no queue and
no future (most deliveries are such, and a lock per event was a measurable share of each).
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["PersonLocks"]


class PersonLocks:
    """One FIFO lock per person, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        # A person present is held; the queue is their waiters, made when the first one comes.
        self._held: dict[str, deque[asyncio.Future[None]] | None] = {}

    def hold(self, key: str) -> _Hold:
        """``async with locks.hold(key):`` holds ``key`` (waiting for its turn) for the block."""
        return _Hold(self, key)

    def __len__(self) -> int:
        """People holding or waiting for their lock now."""
        return len(self._held)

    async def _acquire(self, key: str) -> None:
        if key not in self._held:
            self._held[key] = None
            return
        waiters = self._held[key]
        if waiters is None:
            waiters = self._held[key] = deque()
        turn = asyncio.get_running_loop().create_future()
        waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the lock as it was cancelled: pass it on
                self._release(key)
            elif turn in waiters:
                waiters.remove(turn)
            raise

    def _release(self, key: str) -> None:
        waiters = self._held[key]
        while waiters:
            turn = waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # the lock passes to this waiter, held all along
                return
        del self._held[key]


class _Hold:
    __slots__ = ("key", "locks")

    def __init__(self, locks: PersonLocks, key: str) -> None:
        self.locks = locks
        self.key = key

    async def __aenter__(self) -> None:
        await self.locks._acquire(self.key)

    async def __aexit__(self, *exc_info: object) -> None:
        self.locks._release(self.key)
