"""destkit dlq purge as a real process: it deletes for good, so it asks first, or takes --yes."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import time
from pathlib import Path

import pytest

from destkit.state import Bury, open_store
from tests.processes import DESTKIT


async def bury_one(location: str) -> None:
    async with open_store(location, create=True) as store:
        event = {"type": "track", "event": "x", "messageId": "m-1", "userId": "u-1"}
        await store.apply([Bury(("m-1", "hook", "s"), event, "abc", "BAD_REQUEST", "no", 1, time.time(), time.time())])


async def left(location: str) -> int:
    async with open_store(location) as store:
        return len(await store.dead_letters())


@pytest.fixture
def location(tmp_path: Path) -> str:
    path = str(tmp_path / "state.db")
    asyncio.run(bury_one(path))
    return path


def test_without_a_terminal_purge_needs_yes_and_deletes_nothing(location: str) -> None:
    result = subprocess.run(
        [DESTKIT, "dlq", "purge", "--state", location], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--yes" in result.stderr
    assert asyncio.run(left(location)) == 1


def test_purge_of_a_store_that_does_not_exist_says_so_before_asking(tmp_path: Path) -> None:
    main, terminal = pty.openpty()
    result = subprocess.run(
        [DESTKIT, "dlq", "purge", "--state", str(tmp_path / "typo.db")],
        stdin=terminal,
        capture_output=True,
        text=True,
        timeout=60,
    )
    os.close(terminal)
    os.close(main)
    assert result.returncode == 2 and "no such state store" in result.stderr and "Delete" not in result.stdout


def test_purge_with_yes_deletes_without_asking(location: str) -> None:
    result = subprocess.run(
        [DESTKIT, "dlq", "purge", "--yes", "--state", location], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert result.returncode == 0 and "removed 1 dead letter(s)" in result.stdout
    assert asyncio.run(left(location)) == 0


@pytest.mark.parametrize(("answer", "code", "remaining"), [("n", 1, 1), ("y", 0, 0)])
def test_on_a_terminal_purge_asks_first(location: str, answer: str, code: int, remaining: int) -> None:
    main, terminal = pty.openpty()
    process = subprocess.Popen([DESTKIT, "dlq", "purge", "--state", location], stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while b"[y/N]" not in shown:
        shown += os.read(main, 1024)
    os.write(main, f"{answer}\n".encode())
    assert process.wait(60) == code
    os.close(main)
    assert b"Delete the dead letters (all 1)" in shown
    assert asyncio.run(left(location)) == remaining
