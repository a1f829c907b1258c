"""Inbox partitions: which process delivers whose events, and the leases that say so.

Every accepted event belongs to one of :data:`~destkit.state.contract.PARTITIONS` partitions,
a stable hash of its person (``userId``, else ``anonymousId``). A delivery process holds a
lease on a share of the partitions and is the only one to deliver their events; since the
runtime keeps each person's events in order within a process, a person's events go out one
at a time, in inbox order, across any number of processes.

:class:`Leases` keeps this process's share: it renews its leases every third of their length,
takes a fair share (the partitions divided by the live delivery processes) of those nobody
holds or whose holder stopped renewing, and gives back what exceeds its share once the events
it has in flight for them are settled, so that a process joining gets work at once and a
process dying loses nothing: when its leases expire, the others take its partitions, with the
events it had claimed and not settled. Between renewals it counts the live delivery processes
every second (one read): when one joined or left, it renews at once, and while it holds less
than its share it takes what has been given back, so a process joining gets its share within
about a second, not at the next renewals.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable

from .contract import PARTITIONS, StateStore

__all__ = ["partition_of", "Leases", "process_name", "DEFAULT_LEASE"]

logger = logging.getLogger("destkit.state")

DEFAULT_LEASE = 30.0
#: Seconds between two counts of the live delivery processes, between renewals.
BALANCE_EVERY = 1.0


def partition_of(person: str, partitions: int = PARTITIONS) -> int:
    """The partition of a person key; stable across processes, machines and versions."""
    return zlib.crc32(person.encode("utf-8", "surrogatepass")) % partitions


def process_name(role: str) -> str:
    """A name for this process in the store, unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:8]}"


class Leases:
    """This process's partitions in one store, and its leases on them and on parked claims."""

    def __init__(
        self,
        store: StateStore,
        *,
        role: str = "delivery",
        lease: float = DEFAULT_LEASE,
        clock: Callable[[], float] = time.monotonic,
        balance_every: float = BALANCE_EVERY,
    ) -> None:
        self.store = store
        self.role = role
        self.lease = lease
        self.balance_every = balance_every
        self._workers = 0  # live delivery processes at the last renewal
        self.owner = process_name(role)
        self.clock = clock
        self.owned: set[int] = set()
        self.releasing: set[int] = set()
        self.in_flight: Counter[int] = Counter()
        self._valid_until = 0.0
        #: Set when partitions were gained: events may be waiting in them.
        self.gained = asyncio.Event()
        self._idle = asyncio.Event()  # a partition being given back has nothing in flight now

    @property
    def takes_partitions(self) -> bool:
        return self.role == "delivery"

    def valid(self) -> bool:
        """Whether the leases are surely still ours (renewed recently enough)."""
        return self.clock() < self._valid_until

    def deliverable(self) -> list[int]:
        """Partitions whose events this process may claim now."""
        if not self.valid():
            return []
        return sorted(self.owned - self.releasing)

    def started(self, partition: int) -> None:
        self.in_flight[partition] += 1

    def settled(self, partition: int) -> None:
        self.in_flight[partition] -= 1
        if self.in_flight[partition] <= 0:
            del self.in_flight[partition]
            if partition in self.releasing:
                self._idle.set()

    async def renew(self) -> None:
        """One round: renew, take a fair share, give back the excess that is idle."""
        asked = self.clock()
        held = set(await self.store.heartbeat(self.owner, self.role, self.lease))
        # Renewed as of when we asked; a third of the lease is kept as a margin for clocks.
        self._valid_until = asked + self.lease * 2 / 3
        lost = self.owned - held
        if lost:
            logger.warning("lost the lease on %d partition(s); another process delivers them now", len(lost))
        self.owned = held
        self.releasing &= held
        if not self.takes_partitions:
            return
        self._workers = max(1, await self.store.live_workers(self.lease))
        fair = self._fair_share()
        if len(self.owned) < fair:
            await self._take(fair - len(self.owned))
        elif len(self.owned) - len(self.releasing) > fair:
            keep = sorted(self.owned)[:fair]
            self.releasing = self.owned - set(keep)
        idle = {partition for partition in self.releasing if not self.in_flight.get(partition)}
        if idle:
            await self.store.release_partitions(self.owner, idle)
            self.owned -= idle
            self.releasing -= idle

    def _fair_share(self) -> int:
        return math.ceil(PARTITIONS / self._workers)

    async def _take(self, count: int) -> None:
        gained = await self.store.acquire_partitions(self.owner, count, self.lease)
        self.owned.update(gained)
        if gained:
            self.gained.set()

    async def _balanced(self) -> bool:
        """Between renewals: False when the live delivery processes changed (renew now); while
        this process holds less than its share, it takes partitions given back meanwhile."""
        if not self.takes_partitions:
            return True
        if max(1, await self.store.live_workers(self.lease)) != self._workers:
            return False
        if len(self.owned) < self._fair_share() and self.valid():
            await self._take(self._fair_share() - len(self.owned))
        return True

    async def keep(self, stop: asyncio.Event) -> None:
        """Renew every third of the lease until ``stop``, sooner when a partition can be given
        back or the live delivery processes changed; a failed renewal is logged and tried again,
        and meanwhile nothing new is claimed."""
        while not stop.is_set():
            # Cleared before the round, not after it: a partition that fell idle while the round
            # was giving others back is given back at once, not a third of a lease later.
            self._idle.clear()
            try:
                await self.renew()
            except Exception as exc:  # the store may be unreachable for a while: keep trying
                logger.error("could not renew leases in the state store: %s", exc)
            await self._until_renewal(stop)

    async def _until_renewal(self, stop: asyncio.Event) -> None:
        """Wait a third of the lease, counting the live processes every ``balance_every`` seconds;
        return sooner on ``stop``, when a partition can be given back, or when they changed."""
        due = self.clock() + self.lease / 3
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._idle.wait())]
        try:
            while (left := due - self.clock()) > 0:
                done, _ = await asyncio.wait(waits, timeout=min(left, self.balance_every), return_when=asyncio.FIRST_COMPLETED)
                if done or self.clock() >= due or not await self._balanced():
                    return
        except Exception:  # the store may be unreachable: the renewal says so
            return
        finally:
            for waiting in waits:
                waiting.cancel()

    async def retire(self) -> None:
        """Give everything back at once (a clean stop)."""
        await self.store.retire(self.owner)
        self.owned.clear()
        self._valid_until = 0.0
