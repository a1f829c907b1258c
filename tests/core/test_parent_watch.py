"""A child process that stops once its parent is gone (destkit.parent_watch), with real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from tests.processes import wait_for_exit

#: The child: watches its parent, notes a SIGTERM in its exit code, and otherwise sleeps.
CHILD = """
import sys, time, signal
from destkit.parent_watch import stop_when_orphaned
signal.signal(signal.SIGTERM, lambda *_: sys.exit(43))
stop_when_orphaned(int(sys.argv[1]))
time.sleep(60)
"""

#: The parent: starts the child (in a session of its own, out of reach of the parent's group), says its pid, waits.
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())], start_new_session=True)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_child_runs_while_its_parent_does_and_stops_once_the_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert not wait_for_exit(child, timeout=1.0)  # its parent is there: it keeps running
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_for_exit(child, timeout=5.0), "the child still runs after its parent was killed"
    finally:
        with contextlib.suppress(ProcessLookupError):  # left behind by a failure
            os.kill(child, signal.SIGKILL)


def test_a_child_whose_parent_is_already_gone_stops_at_once() -> None:
    # Started by this test, but told its parent was another process: as if the parent had died meanwhile.
    began = time.monotonic()
    child = subprocess.run([sys.executable, "-c", CHILD, str(os.getpid() + 1_000_000)], timeout=20)
    assert child.returncode == 43 and time.monotonic() - began < 15  # stopped by its SIGTERM, not by the sleep
