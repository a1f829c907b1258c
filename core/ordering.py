"""Each person's events in the order they came: one FIFO lock per person, only while in use.

The runtime holds ``PersonLocks.hold(ordering_key(event))`` around a delivery, so two events of
one person (``userId``, else ``anonymousId``) never overtake each other while different people
go side by side. ``asyncio.Lock`` wakes its waiters first come, first served; a lock is dropped
from the table when its last user leaves, so memory follows the people in flight, not all the
people ever seen.
"""

from __future__ import annotations

import asyncio

__all__ = ["PersonLocks", "PersonLock"]


class PersonLocks:
    """One FIFO lock per person, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, PersonLock] = {}

    def hold(self, key: str) -> PersonLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = PersonLock(self._locks, key)
        lock.users += 1
        return lock

    def __len__(self) -> int:
        """People holding or waiting for their lock now."""
        return len(self._locks)


class PersonLock(asyncio.Lock):
    """An ``async with`` of this lock is one use; the last use removes it from the table."""

    def __init__(self, table: dict[str, PersonLock], key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key
        self.users = 0

    async def __aenter__(self) -> None:
        try:
            await self.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()
        self._leave()

    def _leave(self) -> None:
        self.users -= 1
        if self.users == 0:
            del self.table[self.key]
