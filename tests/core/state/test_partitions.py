"""Partitions and leases: a fair share for each live process, taken over when one goes silent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any, cast

import pytest

from destkit.state import PARTITIONS, Leases, StateStore, partition_of


@pytest.mark.parametrize("person", ["u1", "anon-7f3a", "zoë@example.com", "\ud800lone"])
def test_a_person_always_falls_in_the_same_partition(person: str) -> None:
    assert partition_of(person) == partition_of(person)
    assert 0 <= partition_of(person) < PARTITIONS


def test_people_spread_over_the_partitions() -> None:
    used = {partition_of(f"user-{n}") for n in range(5000)}
    assert len(used) == PARTITIONS


async def settle_down(*leases: Leases, rounds: int = 3) -> None:
    for _ in range(rounds):
        for lease in leases:
            await lease.renew()


async def test_live_processes_share_the_partitions_fairly(store: StateStore) -> None:
    first, second = Leases(store), Leases(store)
    await settle_down(first, second)
    assert (len(first.owned), len(second.owned)) == (PARTITIONS // 2, PARTITIONS // 2)
    third = Leases(store)
    await settle_down(first, second, third)
    shares = sorted(len(lease.owned) for lease in (first, second, third))
    assert sum(shares) == PARTITIONS and shares[-1] - shares[0] <= 2
    assert not (first.owned & second.owned or second.owned & third.owned or first.owned & third.owned)


async def test_a_silent_process_loses_its_partitions_to_the_others(store: StateStore) -> None:
    silent, alive = Leases(store, lease=0.6), Leases(store, lease=0.6)
    await settle_down(silent, alive)
    assert len(alive.owned) == PARTITIONS // 2
    await asyncio.sleep(0.8)  # silent renews no more
    await settle_down(alive, rounds=2)
    assert len(alive.owned) == PARTITIONS


async def test_a_partition_is_given_back_only_once_its_events_are_settled(store: StateStore) -> None:
    first = Leases(store)
    await first.renew()
    assert len(first.owned) == PARTITIONS
    busy = max(first.owned)  # among those it gives back when another process comes
    first.started(busy)
    second = Leases(store)
    await settle_down(second, first)
    assert busy in first.owned and busy in first.releasing and busy not in first.deliverable()
    first.settled(busy)
    await first.renew()
    await second.renew()
    assert busy not in first.owned and busy in second.owned


async def test_leases_not_renewed_in_time_stop_new_claims(store: StateStore) -> None:
    now = [0.0]
    leases = Leases(store, lease=30, clock=lambda: now[0])
    await leases.renew()
    assert len(leases.deliverable()) == PARTITIONS
    now[0] = 21.0  # past two thirds of the lease without a renewal
    assert leases.deliverable() == []


async def test_a_clean_stop_frees_everything_at_once(store: StateStore) -> None:
    leaving, staying = Leases(store), Leases(store)
    await settle_down(leaving, staying)
    await leaving.retire()
    await staying.renew()
    assert len(staying.owned) == PARTITIONS


async def test_a_process_joining_gets_its_share_long_before_the_next_renewal(store: StateStore) -> None:
    # Leases renewed every 10 s: the joining process waited for two renewals, the first
    # process's and its own, while the first delivered everything alone.
    stop = asyncio.Event()
    first = Leases(store, lease=30, balance_every=0.1)
    keeping = [asyncio.create_task(first.keep(stop))]
    try:
        while len(first.owned) < PARTITIONS:
            await asyncio.sleep(0.01)
        second = Leases(store, lease=30, balance_every=0.1)
        keeping.append(asyncio.create_task(second.keep(stop)))
        async with asyncio.timeout(3):
            while len(second.owned) < PARTITIONS // 2:
                await asyncio.sleep(0.01)
        assert len(first.owned) == PARTITIONS // 2 and not first.owned & second.owned
    finally:
        stop.set()
        await asyncio.gather(*keeping)


class _SettlingWhileReleasing:
    """A store in which an event is settled while partitions are being given back, as a
    delivery finishing at that moment would be."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.settle: Callable[[], None] = lambda: None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def release_partitions(self, owner: str, partitions: Collection[int]) -> None:
        self.settle()
        self.settle = lambda: None
        await self.store.release_partitions(owner, partitions)


async def test_a_partition_that_falls_idle_while_others_are_given_back_is_given_back_too(store: StateStore) -> None:
    settling = _SettlingWhileReleasing(store)
    first = Leases(cast(StateStore, settling), lease=30, balance_every=0.1)
    await first.renew()
    busy = max(first.owned)  # among those it gives back when another process comes
    first.started(busy)
    settling.settle = lambda: first.settled(busy)
    await Leases(store).renew()  # another process comes
    stop = asyncio.Event()
    keeping = asyncio.create_task(first.keep(stop))
    try:
        async with asyncio.timeout(3):  # not at the next renewal, 10 s later
            while busy in first.owned:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await keeping
