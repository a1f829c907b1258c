"""Ctrl-C and SIGTERM for commands that deliver: the first asks the work to stop where it can
(deliveries in flight finish, the summary is printed), a second one stops at once.

::

    async with StopSignals() as stop:
        while not stop.requested.is_set():
            ...
    sys.exit(stop.exit_code(otherwise=0))  # 130 after Ctrl-C, 143 after SIGTERM, as a shell tells
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

__all__ = ["StopSignals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """While the block runs, SIGINT and SIGTERM set :attr:`requested` instead of ending the process."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.by: int | None = None

    async def __aenter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for signum in _SIGNALS:
            loop.add_signal_handler(signum, self._stop, signum)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _stop(self, signum: int) -> None:
        if self.by is not None:  # asked twice: the next signal acts as it would without us
            self._release()
            signal.raise_signal(signum)
            return
        self.by = signum
        self.requested.set()

    def _release(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a stop is asked for meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.requested.wait(), seconds)

    def exit_code(self, otherwise: int) -> int:
        return 128 + self.by if self.by is not None else otherwise
