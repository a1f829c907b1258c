"""Replaying events through a runtime: from a stream of lines, or from the parked store.

Every line ends as outcomes handed to ``on_result`` (a line that is not an event becomes an
``invalid`` outcome): nothing is dropped. Deliveries run concurrently, up to ``window`` at
once; the runtime keeps each person's events in file order. Invalid and skipped events are
decided by ``route`` without I/O and never become tasks.

With a :class:`Durable` (the state store), deliveries the ledger has seen are skipped, and
every outcome is settled: recorded, parked or made a dead letter.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterable, Callable, Iterable

from .durable import Durable
from .outcome import ErrorInfo, Outcome, Status
from .report import invalid_line
from .runtime import Routed, Runtime
from .sources import Line
from .state import ParkedDelivery

__all__ = ["replay_lines", "deliver_parked"]

OnResult = Callable[[int, list[Outcome]], None]
ParkedResult = Callable[[ParkedDelivery, list[Outcome]], None]


async def replay_lines(
    lines: Iterable[Line] | AsyncIterable[Line],
    runtime: Runtime,
    on_result: OnResult,
    window: int = 256,
    durable: Durable | None = None,
) -> None:
    slots = asyncio.Semaphore(window)
    pending: dict[asyncio.Task[list[Outcome]], Routed] = {}

    def finished(line: int, task: asyncio.Task[list[Outcome]]) -> None:
        routed = pending.pop(task)
        slots.release()
        if task.cancelled():
            return
        error = task.exception()
        # The runtime reports delivery problems as outcomes; an exception is a bug. Its
        # deliveries still end somewhere: failed, and with the state store, dead letters.
        outcomes = task.result() if error is None else _internal_error(runtime, routed, error)
        on_result(line, durable.settle(routed.event, outcomes) if durable is not None else outcomes)

    async def start(item: Line) -> None:
        if item.problem is not None:
            on_result(item.line, [invalid_line(item.line, item.problem)])
            return
        routed = runtime.route(item.event)
        if durable is not None:
            durable.skip_delivered(routed)
        if not routed.jobs:  # skipped or invalid: decided without the network
            on_result(item.line, routed.finished())
            return
        await slots.acquire()
        task = asyncio.create_task(runtime.send(routed))
        pending[task] = routed
        task.add_done_callback(functools.partial(finished, item.line))

    if isinstance(lines, AsyncIterable):
        async for item in lines:
            await start(item)
    else:
        for item in lines:
            await start(item)
    while pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _internal_error(runtime: Runtime, routed: Routed, error: BaseException) -> list[Outcome]:
    info = ErrorInfo("INTERNAL_ERROR", runtime.redact(f"{type(error).__name__}: {error}"))
    for index, sub, _ in routed.jobs:
        if routed.outcomes[index] is None:
            routed.outcomes[index] = Outcome(
                Status.FAILED, routed.message_id, sub.destination.name, sub.name, sub.action.slug, error=info
            )
    return routed.finished()


async def deliver_parked(
    runtime: Runtime, durable: Durable, on_result: ParkedResult, *, wait: bool = False, max_sleep: float = 30.0
) -> None:
    """Try every parked delivery that is due, with the current config. With ``wait``, keep at it
    (sleeping until the next one is due) until none is left: each ends delivered or dead."""
    store = durable.store
    while True:
        due = store.due(now=durable.clock())
        for parked in due:
            if durable.subscription(parked.destination, parked.subscription) is None:
                on_result(parked, [durable.gone(parked)])
                continue
            routed = runtime.route(parked.event, only=(parked.destination, parked.subscription))
            # With nothing to send (the trigger no longer matches, the payload is now invalid),
            # the delivery is settled as such.
            outcomes = await runtime.send(routed) if routed.jobs else routed.finished()
            on_result(parked, durable.settle(parked.event, outcomes, parked))
        if not wait:
            return
        next_at = store.next_due_at()
        if next_at is None:
            return
        if not due:
            await asyncio.sleep(min(max_sleep, max(0.05, next_at - durable.clock())))
