"""Virtual time for tests: an event loop whose clock jumps ahead instead of waiting.

On :class:`VirtualClockLoop`, ``asyncio.sleep(60)``, ``call_later`` and timeouts take no real
time: when every task is waiting for a timer, the clock moves straight to the earliest one.
Order is kept exactly (what would happen first still does), so a batch that waits
``max_wait`` for more events gets every event submitted before it in the same instant.

It suits tests whose network is an ``httpx.MockTransport`` (``run_action`` and ``run_batch``
run on it). Real sockets need real time, or a request in flight would see its timeout fire at
once: while any socket is open on the loop (a PostgreSQL pool, say), and while work handed
to threads (``asyncio.to_thread``) runs, the loop waits in real time instead of jumping.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple

__all__ = ["VirtualClockLoop", "VirtualClockPolicy"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls for I/O; where the loop would block until a timer, moves the clock there instead."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualClockLoop | None = None
        #: What the loop registers for itself (its wake-up pipe); more means real I/O to wait for.
        self.own = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.loop
        if loop is None or timeout is None or timeout <= 0 or loop.threads_busy or len(self.get_map()) > self.own:
            return super().select(timeout)  # nothing scheduled, a thread at work or a socket open: real waiting
        ready = super().select(0)
        if not ready:
            loop.advance(timeout)
        return ready


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on virtual time, starting at 0.0 (see the module's docstring)."""

    def __init__(self) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self
        selector.own = len(selector.get_map())
        self._now = 0.0
        self._threads = 0

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead (what the loop does itself when it would wait)."""
        self._now += max(0.0, seconds)

    @property
    def threads_busy(self) -> bool:
        return self._threads > 0

    def run_in_executor(self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._threads += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _: asyncio.Future[Any]) -> None:
        self._threads -= 1


class VirtualClockPolicy(asyncio.DefaultEventLoopPolicy):
    """Makes every new event loop a :class:`VirtualClockLoop`: return one from pytest-asyncio's
    ``event_loop_policy`` fixture to run async tests on virtual time."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return VirtualClockLoop()
