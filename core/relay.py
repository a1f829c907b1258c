"""Child processes' output copied into the parent's own streams, line by line.

A replay's processes write log lines (and, in a dry run, requests) to the terminal the parent
draws its progress line on. Written there directly, they land on the end of that line. A
:class:`Relay` gives each process a pipe in place of each relayed file descriptor (standard
error; standard output too when it is the same terminal), and a thread of the parent's copies
what comes through into its ``sys.stderr`` or ``sys.stdout``, which the progress line takes
above itself. Only whole lines are copied (one process's line is never cut by another's;
past ``LONGEST`` characters a line goes in pieces), all that one round of reads brought in one
write. It works for forked processes, which inherit the pipes.

The thread stops once every process has closed its pipes, or ``LINGER`` seconds after
:meth:`Relay.stop` (a process that a child started may still hold one). A write that fails
drops its text rather than stop the copying: a process whose pipe is full would wait for good.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import sys
import threading
import time
from collections.abc import Sequence

__all__ = ["Relay"]

LONGEST = 1 << 16
LINGER = 1.0


class Relay:
    def __init__(self, processes: int, fds: Sequence[int]) -> None:
        self._encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        self._pipes: list[list[tuple[int, int, int]]] = []  # per process: (relayed fd, read end, write end)
        self._open: set[int] = set()  # ends this process still has to close
        self._thread: threading.Thread | None = None
        self._stopped_at: float | None = None
        try:
            for _ in range(processes):
                ends: list[tuple[int, int, int]] = []
                self._pipes.append(ends)
                for fd in fds:
                    reading, writing = os.pipe()
                    self._open.update((reading, writing))
                    ends.append((fd, reading, writing))
        except BaseException:
            self._close(set(self._open))
            raise

    def take(self, k: int) -> None:
        """In process ``k``, once forked: write the relayed descriptors into its pipes, and hold
        no other end of any pipe."""
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, _, writing in self._pipes[k]:
            os.dup2(writing, fd)
        self._close(set(self._open))

    def start(self) -> None:
        """In the parent, once the processes are started: copy until they close their pipes."""
        self._close({writing for ends in self._pipes for _, _, writing in ends})
        self._thread = threading.Thread(target=self._copy, name="destkit-relay", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            self._thread = None
            self._close(set(self._open))
            raise

    def stop(self) -> None:
        """Once the processes have ended: wait for the rest of what they wrote (``LINGER`` at most)."""
        if self._thread is None:
            self._close(set(self._open))
            return
        self._stopped_at = time.monotonic()
        self._thread.join(LINGER + 1.0)

    def _copy(self) -> None:
        kept: dict[int, str] = {}
        decoders = {}
        target: dict[int, int] = {}
        with selectors.DefaultSelector() as selector:
            try:
                for ends in self._pipes:
                    for fd, reading, _ in ends:
                        selector.register(reading, selectors.EVENT_READ)
                        kept[reading], target[reading] = "", fd
                        decoders[reading] = codecs.getincrementaldecoder(self._encoding)("replace")
                while selector.get_map():
                    if self._stopped_at is not None and time.monotonic() > self._stopped_at + LINGER:
                        return
                    out: dict[int, list[str]] = {}
                    for key, _ in selector.select(timeout=0.1):
                        data = os.read(key.fd, 65536)
                        text = kept[key.fd] + decoders[key.fd].decode(data, final=not data)
                        if not data:  # the process has closed its end
                            selector.unregister(key.fd)
                            self._close({key.fd})
                            kept[key.fd] = ""
                            lines, end, rest = text, "\n" if text and not text.endswith("\n") else "", ""
                        else:
                            lines, end, rest = text.rpartition("\n")
                            if len(rest) > LONGEST:
                                lines, end, rest = lines + end + rest, "", ""
                            kept[key.fd] = rest
                        out.setdefault(target[key.fd], []).append(lines + end)
                    _write(out)
            finally:
                _write({target[fd]: [rest] for fd, rest in kept.items() if rest})
                self._close(set(self._open))

    def _close(self, fds: set[int]) -> None:
        for fd in fds & self._open:
            self._open.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)


def _write(out: dict[int, list[str]]) -> None:
    for fd, parts in out.items():
        text = "".join(parts)
        if not text:
            continue
        stream = sys.stdout if fd == 1 else sys.stderr
        with contextlib.suppress(Exception):  # a terminal gone, say: the text is dropped, the copying goes on
            stream.write(text)
            stream.flush()
