"""Delivering from the state store: the inbox and the parked deliveries, in any number of processes.

``destkit serve`` runs one :class:`Worker` beside its HTTP front door (unless ``--no-worker``);
``destkit worker`` runs one alone. Each worker holds leases on a fair share of the inbox's
partitions (:class:`~destkit.state.Leases`), claims the oldest events of its partitions a page
at a time, delivers them with the runtime (each person's events in order), and settles every
outcome through a :class:`~destkit.state.CommitGroup`: the ledger mark, parking or dead letter
and the event's removal from the inbox commit together. Parked deliveries that fall due are
claimed by whichever worker looks first, under the same lease.

On stop, a worker claims nothing more, lets what is in flight finish within ``grace`` seconds,
commits what is settled and gives its leases back; anything unsettled stays in the inbox for
the next worker. Killed outright, its leases expire and the others take its partitions over,
sending again only what was in flight (at most the concurrency plus one commit group).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from .durable import Durable
from .outcome import Outcome
from .replay import Delivery, deliver_chunks, deliver_parked
from .runtime import Runtime
from .sources import Line
from .state import DEFAULT_LEASE, Ack, CommitGroup, Leases, Operation, ParkedDelivery, StateStore

__all__ = ["Worker", "WorkerOptions"]

logger = logging.getLogger("destkit.worker")

#: Told of each settled event: its outcomes, and seconds since it was accepted.
OnSettled = Callable[[list[Outcome], float], None]


@dataclass(frozen=True)
class WorkerOptions:
    lease: float = DEFAULT_LEASE
    #: Seconds between two looks at the inbox when nothing wakes the worker.
    poll: float = 1.0
    #: Seconds between two looks for parked deliveries that fell due.
    parked_every: float = 5.0
    #: Prune the ledger of deliveries older than this many days (None: keep them).
    ledger_days: float | None = None
    grace: float = 20.0


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        store: StateStore,
        options: WorkerOptions | None = None,
        *,
        on_settled: OnSettled | None = None,
        on_acknowledged: Callable[[], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.options = options or WorkerOptions()
        self.on_settled = on_settled or (lambda outcomes, seconds: None)
        #: Told each time an event has left the inbox (its settlement committed).
        self.on_acknowledged = on_acknowledged or (lambda: None)
        self.leases = Leases(store, lease=self.options.lease)
        self.durable = Durable(runtime, store)
        self.window = runtime.concurrency * 8
        self._wake = asyncio.Event()
        self._room = asyncio.Event()  # set when settled events leave room to claim more
        self._claimed: dict[int, int] = {}  # inbox id -> partition, until settled and committed
        self._received: dict[int, float] = {}

    def wake(self) -> None:
        """Events were accepted: look at the inbox now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish within the grace period and leave cleanly."""
        await self.leases.renew()
        await self.store.watch_inbox(self.wake)
        async with CommitGroup(self.store) as commits:
            keeping = asyncio.create_task(self.leases.keep(stop), name="destkit-leases")
            work = [
                asyncio.create_task(self._deliver_inbox(commits, stop), name="destkit-inbox"),
                asyncio.create_task(self._deliver_parked(commits, stop), name="destkit-parked"),
                asyncio.create_task(self._prune(stop), name="destkit-prune"),
            ]
            await stop.wait()
            self._wake.set()
            _, late = await asyncio.wait(work, timeout=self.options.grace)
            for task in late:  # what they held stays in the inbox or the parked table
                task.cancel()
            await asyncio.gather(*work, return_exceptions=True)
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
        try:
            await self.leases.retire()
        except Exception as exc:  # the leases will expire on their own
            logger.warning("could not give the leases back on stopping: %s", exc)

    # --- the inbox ------------------------------------------------------------------------------

    async def _deliver_inbox(self, commits: CommitGroup, stop: asyncio.Event) -> None:
        delivery = Delivery(self.runtime, self._inbox_result, self.window, self.durable, commits, self._acknowledge, stop)
        await deliver_chunks(self._pages(stop), delivery)

    async def _pages(self, stop: asyncio.Event) -> AsyncIterator[list[Line]]:
        """Pages of claimed events, oldest first, until ``stop``."""
        while not stop.is_set():
            room = 2 * self.window - len(self._claimed)
            if room < self.window // 2:  # many claimed and not yet settled: wait until some are
                self._room.clear()
                await _first_of(stop, self._room, timeout=self.options.poll)
                continue
            partitions = self.leases.deliverable()
            rows = await self.store.claim_inbox(self.leases.owner, partitions, min(room, 256))
            # A partition given back (or lost) while the claim was on its way is another process's
            # now: its rows are left to it (a claim by this process means nothing to the next holder).
            mine = set(self.leases.deliverable())
            rows = [row for row in rows if row.partition in mine]
            if not rows:
                self._wake.clear()
                self.leases.gained.clear()
                await _first_of(stop, self._wake, self.leases.gained, timeout=self.options.poll)
                continue
            page = []
            for row in rows:
                self._claimed[row.id] = row.partition
                self._received[row.id] = row.received_at
                self.leases.started(row.partition)
                page.append(_line(row.id, row.event))
            yield page

    def _acknowledge(self, line: Line) -> tuple[list[Operation], Callable[[], None]]:
        def committed() -> None:
            partition = self._claimed.pop(line.line, None)
            if partition is not None:
                self.leases.settled(partition)
            if len(self._claimed) <= self.window:
                self._room.set()
            self.on_acknowledged()

        return [Ack(line.line)], committed

    def _inbox_result(self, inbox_id: int, outcomes: list[Outcome]) -> None:
        received = self._received.pop(inbox_id, None)
        self.on_settled(outcomes, time.time() - received if received is not None else 0.0)

    # --- parked deliveries ----------------------------------------------------------------------

    async def _deliver_parked(self, commits: CommitGroup, stop: asyncio.Event) -> None:
        def settled(parked: ParkedDelivery, outcomes: list[Outcome]) -> None:
            self.on_settled(outcomes, time.time() - parked.first_seen)

        while not stop.is_set():
            claimed = 0
            if self.leases.valid():
                try:
                    claimed = await deliver_parked(
                        self.runtime,
                        self.durable,
                        commits,
                        settled,
                        owner=self.leases.owner,
                        lease=self.options.lease,
                        window=self.window,
                        stopping=stop,
                    )
                except Exception as exc:  # the store may be unreachable for a while
                    logger.error("could not look for parked deliveries: %s", exc)
            if claimed < self.window:  # a full page means more may be due at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.options.parked_every)

    # --- retention ------------------------------------------------------------------------------

    async def _prune(self, stop: asyncio.Event) -> None:
        days = self.options.ledger_days
        if days is None:
            return
        while not stop.is_set():
            try:
                removed = await self.store.prune_ledger(time.time() - days * 86400)
                if removed:
                    logger.info("pruned %d ledger entries older than %g days", removed, days)
            except Exception as exc:
                logger.warning("could not prune the ledger: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=3600)


def _line(inbox_id: int, text: str) -> Line:
    try:
        return Line(inbox_id, json.loads(text))
    except ValueError:  # stored by hand, or by a broken version: still accounted for
        return Line(inbox_id, problem="the stored event is not JSON")


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
