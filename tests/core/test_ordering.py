"""Per-person locks: one person's holders go first come, first served; other people never wait."""

from __future__ import annotations

import asyncio

from destkit.ordering import PersonLocks


async def test_one_persons_holders_go_in_order_and_others_do_not_wait() -> None:
    locks = PersonLocks()
    seen: list[str] = []

    async def use(person: str, name: str, pause: float) -> None:
        async with locks.hold(person):
            await asyncio.sleep(pause)
            seen.append(name)

    # a1 holds u1 longest; a2 and a3 queue behind it, while b1 (another person) goes at once.
    await asyncio.gather(use("u1", "a1", 0.05), use("u1", "a2", 0), use("u1", "a3", 0), use("u2", "b1", 0))
    assert seen == ["b1", "a1", "a2", "a3"]


async def test_a_lock_is_dropped_when_its_last_user_leaves() -> None:
    locks = PersonLocks()
    async with locks.hold("u1"), locks.hold("u2"):
        assert len(locks) == 2
    assert len(locks) == 0


async def test_a_cancelled_waiter_leaves_no_lock_behind() -> None:
    locks = PersonLocks()
    holding = locks.hold("u1")
    await holding.__aenter__()
    waiter = asyncio.create_task(locks.hold("u1").__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert len(locks) == 1
    await holding.__aexit__(None, None, None)
    assert len(locks) == 0


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_lock_on() -> None:
    locks = PersonLocks()
    seen: list[str] = []
    first = locks.hold("u1")
    await first.__aenter__()
    doomed = asyncio.create_task(locks.hold("u1").__aenter__())

    async def patient() -> None:
        async with locks.hold("u1"):
            seen.append("patient")

    after = asyncio.create_task(patient())
    await asyncio.sleep(0)
    await first.__aexit__(None, None, None)  # the turn is handed to the doomed waiter...
    doomed.cancel()  # ...which is cancelled before it runs: the turn must go on, not be lost
    await asyncio.gather(doomed, return_exceptions=True)
    await asyncio.wait_for(after, 1)
    assert seen == ["patient"] and len(locks) == 0


async def test_many_people_at_once_keep_each_ones_order() -> None:
    locks = PersonLocks()
    seen: dict[str, list[int]] = {}

    async def use(person: str, n: int) -> None:
        async with locks.hold(person):
            await asyncio.sleep(0.001 * (n % 3))
            seen.setdefault(person, []).append(n)

    await asyncio.gather(*(use(f"u{n % 7}", n) for n in range(200)))
    assert all(numbers == sorted(numbers) for numbers in seen.values()) and len(locks) == 0
