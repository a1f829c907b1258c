"""Delivering streams of events through a runtime: lines of a file, the service's inbox, and
parked deliveries.

Every line ends as outcomes handed to ``on_result`` (a line that is not an event becomes an
``invalid`` outcome): nothing is dropped. Lines are taken a chunk at a time: each chunk is
routed (validated, triggered, mapped; no I/O), the ledger is asked about all of it at once,
and what is left to send is sent concurrently, up to ``window`` events at once; the runtime
keeps each person's events in order.

With a :class:`Durable` (the state store), deliveries the ledger has seen are skipped, and
every outcome is settled: recorded, parked or made a dead letter, through a
:class:`~destkit.state.CommitGroup` that commits many events' settlements at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field

from .deliverylog import log_outcomes
from .durable import Durable
from .outcome import ErrorInfo, Outcome, Status
from .report import invalid_line
from .runtime import HeldBack, Routed, Runtime
from .sources import Line
from .state import CommitGroup, Operation, ParkedDelivery, StateStore

__all__ = ["Delivery", "replay_lines", "deliver_chunks", "deliver_parked", "CHUNK"]

OnResult = Callable[[int, list[Outcome]], None]
ParkedResult = Callable[[ParkedDelivery, list[Outcome]], None]
#: What settles a line besides its outcomes (the inbox's acknowledgement), and what to do once committed.
Extra = Callable[[Line], tuple[list[Operation], Callable[[], None] | None]]

#: Lines routed, and looked up in the ledger, together. Each look is a call handed to the state
#: store's thread and back, with the interpreter's lock passed between the threads; one per 512
#: lines rather than per 64 (with the replay's longer commit groups) cut the thread switches of a
#: replay about threefold. Delivering still starts event by event, within ``window``.
CHUNK = 512


@dataclass
class Delivery:
    """What delivering needs besides the lines: the runtime, and with the state store, its
    settling (``durable``) and group commit (``commits``)."""

    runtime: Runtime
    on_result: OnResult
    window: int = 256
    durable: Durable | None = None
    commits: CommitGroup | None = None
    extra: Extra | None = None
    #: Once set, no more deliveries start: the rest of a chunk stays unsettled (a replay resumes
    #: from it). With the ledger, so do the events started but still waiting for a place on the
    #: network: resuming sends them, and the ledger skips those after them that were sent.
    #: Without it, they are sent: each would leave settled lines after an unsettled one, which
    #: resuming would send again.
    stopping: asyncio.Event | None = None
    _slots: asyncio.Semaphore = field(init=False)
    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _holding_back: asyncio.Event | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.window)
        if self.durable is not None and not self.durable.force:
            self._holding_back = self.stopping

    async def chunk(self, items: list[Line]) -> None:
        """Route a chunk, look its deliveries up in the ledger at once, and start sending."""
        routed: list[tuple[Line, Routed | None]] = [
            (item, None if item.problem is not None else self.runtime.route(item.event)) for item in items
        ]
        if self.durable is not None:
            await self.durable.skip_delivered([r for _, r in routed if r is not None and r.jobs])
        for item, route in routed:
            if self._stopped():
                return
            if route is None:
                await self._settle(item, None, [invalid_line(item.line, item.problem or "")])
            elif not route.jobs:  # skipped or invalid: decided without the network
                await self._settle(item, route, route.finished())
            else:
                await self._slots.acquire()
                if self._stopped():  # asked while waiting for a slot
                    self._slots.release()
                    return
                task = asyncio.create_task(self._deliver(item, route))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _stopped(self) -> bool:
        return self.stopping is not None and self.stopping.is_set()

    async def finish(self) -> None:
        """Wait for every delivery started (their settlements queued, not yet committed)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def abandon(self) -> None:
        """Stop the deliveries in flight (their events stay unsettled) and wait until they have."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, item: Line, routed: Routed) -> None:
        try:
            try:
                outcomes = await self.runtime.send(routed, self._holding_back)
            except HeldBack:
                return  # its turn came after the stop: nothing was sent, and the line stays unsettled
            except Exception as error:  # a bug: its deliveries still end somewhere (failed, dead letters)
                outcomes = _internal_error(self.runtime, routed, error)
            await self._settle(item, routed, outcomes)
        finally:
            self._slots.release()

    async def _settle(self, item: Line, routed: Routed | None, outcomes: list[Outcome]) -> None:
        operations: list[Operation] = []
        if self.durable is not None and routed is not None:
            outcomes, operations = self.durable.settle(routed.event, outcomes)
        committed = None
        if self.extra is not None:
            more, committed = self.extra(item)
            operations += more
        if self.commits is not None:
            await self.commits.add(operations, committed)
        elif committed is not None:
            committed()
        log_outcomes(outcomes)
        self.on_result(item.line, outcomes)


async def deliver_chunks(chunks: Iterable[list[Line]] | AsyncIterable[list[Line]], delivery: Delivery) -> None:
    """Deliver every chunk, then wait for the last deliveries. Cancelled, it stops those in flight too."""
    try:
        if isinstance(chunks, AsyncIterable):
            async for items in chunks:
                await delivery.chunk(items)
        else:
            for items in chunks:
                await delivery.chunk(items)
        await delivery.finish()
    except asyncio.CancelledError:
        await delivery.abandon()
        raise


async def replay_lines(
    lines: Iterable[Line],
    runtime: Runtime,
    on_result: OnResult,
    window: int = 256,
    durable: Durable | None = None,
    commits: CommitGroup | None = None,
) -> None:
    """Deliver the lines of a file (or any iterable of lines)."""
    delivery = Delivery(runtime, on_result, window, durable, commits)
    await deliver_chunks(_chunks(lines), delivery)


def _chunks(lines: Iterable[Line]) -> Iterable[list[Line]]:
    iterator = iter(lines)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        yield chunk


def _internal_error(runtime: Runtime, routed: Routed, error: BaseException) -> list[Outcome]:
    info = ErrorInfo("INTERNAL_ERROR", runtime.redact(f"{type(error).__name__}: {error}"))
    for index, sub, _ in routed.jobs:
        if routed.outcomes[index] is None:
            routed.outcomes[index] = Outcome(
                Status.FAILED, routed.message_id, sub.destination.name, sub.name, sub.action.slug, error=info
            )
    return routed.finished()


async def deliver_parked(
    runtime: Runtime,
    durable: Durable,
    commits: CommitGroup,
    on_result: ParkedResult,
    *,
    owner: str,
    lease: float,
    window: int = 256,
    stopping: asyncio.Event | None = None,
) -> int:
    """Claim the parked deliveries that are due (up to ``window``) and try each with the current
    config, side by side; returns how many were claimed (0: nothing is due). Once ``stopping``
    is set, one still waiting for a place on the network is not tried: it stays parked, claimed
    until its lease ends or its owner gives its claims back."""
    store: StateStore = durable.store
    due = await store.claim_due(owner, window, lease)

    async def one(parked: ParkedDelivery) -> None:
        if durable.subscription(parked.destination, parked.subscription) is None:
            outcome, bury = durable.gone(parked)
            await commits.add([bury])
            log_outcomes([outcome])
            on_result(parked, [outcome])
            return
        routed = runtime.route(parked.event, only=(parked.destination, parked.subscription))
        # With nothing to send (the trigger no longer matches, the payload is now invalid),
        # the delivery is settled as such.
        try:
            outcomes = await runtime.send(routed, stopping) if routed.jobs else routed.finished()
        except HeldBack:
            return
        except Exception as error:
            outcomes = _internal_error(runtime, routed, error)
        outcomes, operations = durable.settle(parked.event, outcomes, parked)
        await commits.add(operations)
        log_outcomes(outcomes)
        on_result(parked, outcomes)

    await asyncio.gather(*(one(parked) for parked in due))
    return len(due)
