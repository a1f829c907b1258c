"""StopSignals in this process: the first SIGINT or SIGTERM asks the work to stop, and says how to exit."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from destkit.cli._stopping import StopSignals


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_first_signal_asks_the_work_to_stop_and_names_the_exit_code(signum: signal.Signals, code: int) -> None:
    async with StopSignals() as stop:
        assert stop.exit_code(otherwise=0) == 0 and not stop.requested.is_set()
        began = time.monotonic()
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signum)
        await stop.sleep(30)  # cut short by the signal
        assert time.monotonic() - began < 10
        assert stop.requested.is_set() and stop.by == signum and stop.exit_code(otherwise=0) == code


async def test_the_signals_are_the_processs_own_again_after_the_block() -> None:
    loop = asyncio.get_running_loop()
    async with StopSignals():
        pass
    assert loop.remove_signal_handler(signal.SIGTERM) is False  # nothing of ours left installed
