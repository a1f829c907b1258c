"""Replaying a stream of event lines through a runtime, a bounded number at a time.

Every line ends as outcomes handed to ``on_result`` (a line that is not an event becomes an
``invalid`` outcome): nothing is dropped. Deliveries run concurrently, up to ``window`` at
once; the runtime keeps each person's events in file order.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable

from .outcome import ErrorInfo, Outcome, Status
from .report import invalid_line
from .runtime import Runtime
from .sources import Line

__all__ = ["replay_lines"]

OnResult = Callable[[int, list[Outcome]], None]


async def replay_lines(lines: Iterable[Line], runtime: Runtime, on_result: OnResult, window: int = 256) -> None:
    slots = asyncio.Semaphore(window)
    pending: set[asyncio.Task[list[Outcome]]] = set()

    def finished(line: int, task: asyncio.Task[list[Outcome]]) -> None:
        pending.discard(task)
        slots.release()
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            on_result(line, task.result())
        else:  # the runtime reports delivery problems as outcomes; this is a bug, still counted
            info = ErrorInfo("INTERNAL_ERROR", runtime.redact(f"{type(error).__name__}: {error}"))
            on_result(line, [Outcome(Status.FAILED, None, error=info)])

    for item in lines:
        if item.problem is not None:
            on_result(item.line, [invalid_line(item.line, item.problem)])
            continue
        routed = runtime.route(item.event)
        if not routed.jobs:  # skipped or invalid: decided without the network
            on_result(item.line, routed.finished())
            continue
        await slots.acquire()
        task = asyncio.create_task(runtime.send(routed))
        pending.add(task)
        task.add_done_callback(functools.partial(finished, item.line))
    while pending:
        await asyncio.gather(*pending, return_exceptions=True)
