"""A child process that stops when its parent is gone.

The processes destkit starts beside itself (a replay's shares, a service's delivery processes)
run in a process group of their own, so that a Ctrl-C on the terminal reaches them once,
through their parent, which forwards it. Killed with SIGKILL (or by the OOM killer), the parent
can forward nothing, and they would go on delivering beside the next run of the same command.
:func:`stop_when_orphaned` has a child send itself SIGTERM once its parent is gone, so that it
stops as it does on a SIGTERM: what is in flight finishes and is recorded.
"""

from __future__ import annotations

import os
import signal
import threading
import time

__all__ = ["stop_when_orphaned"]

CHECK_EVERY = 0.2  # seconds between two looks at the parent


def stop_when_orphaned(parent: int) -> None:
    """Watch, on a thread, that this process's parent is still ``parent`` (the pid it had when it
    started this one), and send this process SIGTERM once it is not."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(CHECK_EVERY)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="destkit-parent-watch", daemon=True).start()
