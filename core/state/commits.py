"""Group commit: the outcomes of many deliveries settled in one transaction.

Recording each delivered event in its own transaction made the state store the largest cost of
a live replay after the network. A :class:`CommitGroup` gathers the operations that settle
each event (a ledger mark, a parking, a dead letter, an inbox acknowledgement) and applies
them together, as soon as the previous group is committed and at most ``delay`` seconds after
the first of them arrived.

The guarantee stays what it was, with a bound: :meth:`CommitGroup.add` waits while ``limit``
events are settled and not yet committed, so after a crash the deliveries that can be sent
again are those in flight (at most the runtime's concurrency) and those settled but not
committed (at most ``limit``). An event's ``committed`` callback runs only once its operations
are in the store: the service takes an event out of its inbox only then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from .contract import StateStore
from .records import Operation

__all__ = ["CommitGroup", "DEFAULT_LIMIT"]

logger = logging.getLogger("destkit.state")

DEFAULT_LIMIT = 512
_RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
_REPORT_EVERY = 30.0  # seconds between two log lines about the same failure


class CommitGroup:
    def __init__(self, store: StateStore, *, limit: int = DEFAULT_LIMIT, delay: float = 0.005) -> None:
        self.store = store
        self.limit = limit
        self.delay = delay
        self._operations: list[Operation] = []
        self._committed: list[Callable[[], None]] = []
        self._events = 0  # events whose operations are waiting for the next group
        self._uncommitted = 0  # events settled and not yet committed, this group and the next
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._all_committed = asyncio.Event()
        self._all_committed.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: Transactions committed, and events in them (for benchmarks and tests).
        self.transactions = 0
        self.committed_events = 0

    async def __aenter__(self) -> CommitGroup:
        self._task = asyncio.create_task(self._run(), name="destkit-commit-group")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def add(self, operations: Sequence[Operation], committed: Callable[[], None] | None = None) -> None:
        """Queue one event's operations; ``committed`` runs once they are in the store."""
        if not operations:
            if committed is not None:
                committed()
            return
        while self._uncommitted >= self.limit:
            self._room.clear()
            await self._room.wait()
        self._operations.extend(operations)
        if committed is not None:
            self._committed.append(committed)
        self._events += 1
        self._uncommitted += 1
        self._all_committed.clear()
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._all_committed.wait()

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await self._task
        finally:
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._operations:
                self._wake.clear()
                if self._closing:
                    return
                continue
            if self._events < self.limit // 2 and not self._closing:
                await asyncio.sleep(self.delay)  # let the rest of the group arrive
            operations, self._operations = self._operations, []
            committed, self._committed = self._committed, []
            events, self._events = self._events, 0
            await self._apply(operations)
            self.transactions += 1
            self.committed_events += events
            self._uncommitted -= events
            self._room.set()
            if self._uncommitted == 0:
                self._all_committed.set()
            for callback in committed:
                callback()

    async def _apply(self, operations: list[Operation]) -> None:
        """Apply one group, trying again (with growing pauses) until the store takes it."""
        failures, reported = 0, 0.0
        while True:
            try:
                await self.store.apply(operations)
                if failures:
                    logger.warning("the state store took the settled deliveries again after %d failed attempt(s)", failures)
                return
            except Exception as exc:
                now = time.monotonic()
                if now - reported >= _REPORT_EVERY:
                    logger.error("could not record settled deliveries in the state store (will retry): %s", exc)
                    reported = now
                await asyncio.sleep(_RETRY_DELAYS[min(failures, len(_RETRY_DELAYS) - 1)])
                failures += 1
