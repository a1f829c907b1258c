"""Virtual time: sleeps and timers take none, in their order; threads are waited for for real."""

from __future__ import annotations

import asyncio
import threading
import time

from destkit.testing import VirtualClockLoop


def on_virtual_time(main: object) -> object:
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main)  # type: ignore[arg-type]


def test_sleeps_take_no_real_time_and_keep_their_order() -> None:
    woke: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def nap(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            woke.append((name, loop.time()))

        await asyncio.gather(nap("hour", 3600), nap("second", 1), nap("minute", 60))

    started = time.perf_counter()
    on_virtual_time(main())
    assert woke == [("second", 1.0), ("minute", 60.0), ("hour", 3600.0)]
    assert time.perf_counter() - started < 5  # an hour of waiting, taken at once


def test_a_timeout_fires_at_its_virtual_time() -> None:
    async def main() -> float:
        try:
            await asyncio.wait_for(asyncio.sleep(100), timeout=10)
        except TimeoutError:
            return asyncio.get_running_loop().time()
        return -1.0

    assert on_virtual_time(main()) == 10.0


def test_work_in_a_thread_is_waited_for_before_the_clock_jumps() -> None:
    async def main() -> str:
        work = asyncio.to_thread(time.sleep, 0.2)
        try:
            await asyncio.wait_for(work, timeout=5)  # five virtual seconds would pass at once
        except TimeoutError:
            return "timed out"
        return "done"

    assert on_virtual_time(main()) == "done"


def test_an_open_socket_is_waited_for_in_real_time() -> None:
    async def main() -> str:
        import socket

        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        try:
            threading.Timer(0.2, theirs.send, args=(b"answer\n",)).start()
            line = await asyncio.wait_for(reader.readline(), timeout=5)  # five virtual seconds would pass at once
            return line.decode().strip()
        finally:
            writer.close()
            theirs.close()

    assert on_virtual_time(main()) == "answer"
