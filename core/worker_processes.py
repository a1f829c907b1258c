"""Delivery processes a service starts beside itself (``destkit serve --workers N``).

Each is a :class:`~destkit.worker.Worker` in a process of its own, on the service's state store
(SQLite too: the store's partitions and leases share the work out), with the service's config
as the service resolved it (sandboxed destinations point at the service's sandboxes). They run
in a process group of their own, so a Ctrl-C on the terminal reaches the service, which stops
them: SIGTERM, then the grace period, then SIGKILL. One whose service is gone (killed with
SIGKILL, it could stop nothing) stops as on SIGTERM, rather than deliver on beside the next
service. One that dies is started again, with a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess

from .config import Config
from .logs import LogSettings, configure, flush
from .loops import run, tune_collector
from .parent_watch import stop_when_orphaned
from .runtime import Runtime
from .state import open_store
from .worker import Worker, WorkerOptions

__all__ = ["WorkerProcesses"]

logger = logging.getLogger("destkit.worker")


def _deliver(
    parent: int, config: Config, location: str, options: WorkerOptions, rehearsal: bool, loop: str, logs: LogSettings | None
) -> None:
    os.setpgrp()
    stop_when_orphaned(parent)
    tune_collector()
    if logs is not None:
        configure(logs)

    async def main() -> None:
        runtime = Runtime(config)
        async with open_store(location) as store:
            await store.claim_purpose(rehearsal=rehearsal)
            runtime.state = store
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            async with runtime:
                await Worker(runtime, store, options).run(stop)

    try:
        run(main(), loop)
    finally:
        flush()


class WorkerProcesses:
    def __init__(
        self,
        count: int,
        config: Config,
        location: str,
        options: WorkerOptions,
        rehearsal: bool,
        loop: str,
        logs: LogSettings | None = None,
    ) -> None:
        self.count = count
        self.args = (os.getpid(), config, location, options, rehearsal, loop, logs)
        self.grace = options.grace
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []
        self._restarts = 0

    def _start_one(self) -> BaseProcess:
        process = self._context.Process(target=_deliver, args=self.args, name="destkit-worker", daemon=False)
        process.start()
        return process

    def start(self) -> None:
        self.processes = [self._start_one() for _ in range(self.count)]

    async def supervise(self, stop: asyncio.Event) -> None:
        """Start again any that dies, until ``stop``."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            for index, process in enumerate(self.processes):
                if not stop.is_set() and not process.is_alive():
                    self._restarts += 1
                    pause = min(30.0, 0.5 * 2 ** min(self._restarts, 6))
                    logger.error("a delivery process exited (code %s); starting another in %.0f s", process.exitcode, pause)
                    await asyncio.sleep(pause)
                    self.processes[index] = self._start_one()

    async def stop(self) -> None:
        for process in self.processes:
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + self.grace + 5
        for process in self.processes:
            while process.is_alive() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if process.is_alive():
                process.kill()
            process.join(5)
