"""Places for work on the network: a fixed number at once, the rest served in turn."""

from __future__ import annotations

import asyncio

import pytest

from destkit.slots import Slots


async def test_at_most_size_at_once_and_waiters_in_order() -> None:
    slots, inside, most, order = Slots(3), 0, 0, []

    async def use(n: int) -> None:
        nonlocal inside, most
        async with slots:
            inside += 1
            most = max(most, inside)
            order.append(n)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(use(n) for n in range(50)))
    assert most == 3 and order == list(range(50)) and slots.waiting == 0


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_place_on() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    doomed = asyncio.create_task(slots.__aenter__())
    later = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0)
    await slots.__aexit__(None, None, None)  # handed to the doomed waiter...
    doomed.cancel()  # ...cancelled before it runs: the place goes on to the next
    await asyncio.gather(doomed, return_exceptions=True)
    await asyncio.wait_for(later, 1)
    await slots.__aexit__(None, None, None)
    assert slots._free == 1


async def test_a_waiter_cancelled_while_waiting_leaves_the_count_right() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    waiter = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await slots.__aexit__(None, None, None)
    assert (slots._free, slots.waiting) == (1, 0)


def test_there_is_at_least_one_place() -> None:
    with pytest.raises(ValueError):
        Slots(0)


async def test_a_wait_with_a_time_limit_ends_in_timeout_and_loses_no_place() -> None:
    slots = Slots(1)
    await slots.take()
    with pytest.raises(TimeoutError):
        await slots.take(within=0.01)
    slots.release()
    await asyncio.wait_for(slots.take(within=0.01), 1)  # the freed place is there to take
    assert (slots._free, slots.waiting) == (0, 0)
