"""The live progress line of ``destkit replay`` on a terminal, and the text written above it.

The line is drawn on standard error. While it is shown, what the process writes to that
terminal (log lines and problems on standard error, the replay processes' relayed by
:mod:`destkit.shards`; a dry run's requests on standard output when it is the same terminal)
goes above the line in whole lines: never broken at the terminal's width (a request's body
stays one line, to copy whole), and a batch at a time, so that the
line is drawn again a few times a second rather than after every write (once per request made
a dry run on a terminal eleven times slower than one into a file). Standard output anywhere
else (a file, a pipe) is left alone.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO, cast

from ..shards import Counts

__all__ = ["Progress", "Above"]

#: Seconds between two batches written above the line, at most; and characters that make one at once.
EVERY = 0.05
MOST = 1 << 16


class Above(io.TextIOBase):
    """A text stream that writes above a live display: whole lines, a batch at a time.

    ``write`` keeps the text; the lines kept go out together once ``EVERY`` seconds have passed
    since the last batch (on the event loop's clock when written from it, else at once) or once
    ``MOST`` characters wait. A line not ended waits for its end: printed before the display,
    it would be cleared with it. ``close`` writes whatever is left (once the display is gone);
    later writes go straight to the original stream."""

    def __init__(self, console: Any, original: TextIO) -> None:
        super().__init__()
        self._console = console
        self._original = original
        self._lock = threading.RLock()
        self._parts: list[str] = []
        self._size = 0
        self._ended = False  # whether a line kept is ended (there is something to print)
        self._written = 0.0  # when the last batch went out (time.monotonic)
        self._timer: asyncio.AbstractEventLoop | None = None  # the loop a batch is due on
        self._printing = False
        self._done = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            if self._done:
                return self._original.write(text)
            self._parts.append(text)
            self._size += len(text)
            self._ended = self._ended or "\n" in text
            if not self._ended:
                return len(text)
            if self._printing:  # written while a batch is printed (a warning...): with the next one
                self._later()
                return len(text)
            if self._size < MOST and time.monotonic() - self._written < EVERY and self._later():
                return len(text)
            self._batch()
        return len(text)

    def _later(self) -> bool:
        """Whether a batch is due on the event loop's timer (set now if need be); False off a loop."""
        if self._timer is not None and not self._timer.is_closed():
            return True
        try:
            self._timer = asyncio.get_running_loop()
        except RuntimeError:
            self._timer = None
            return False
        self._timer.call_later(EVERY, self._on_time)
        return True

    def _on_time(self) -> None:
        with self._lock:
            self._timer = None
            if not self._done and self._ended:
                self._batch()

    def flush(self) -> None:
        """Nothing at once: what is kept goes out with the next batch (within ``EVERY`` seconds)."""

    def close(self, before: Callable[[], object] | None = None) -> None:
        """Call ``before`` (the display's end), then write everything kept, a line not ended
        included, as it is; no batch goes out in between."""
        with self._lock:
            if self._done:
                return
            try:
                if before is not None:
                    before()
            finally:
                self._done = True
                text, self._parts, self._size = "".join(self._parts), [], 0
        if text:
            self._original.write(text)
            self._original.flush()

    def _batch(self) -> None:
        """Print the lines kept that are ended (the lock held)."""
        text, ended, rest = "".join(self._parts).rpartition("\n")
        self._parts, self._size, self._ended = ([rest] if rest else []), len(rest), False
        self._written = time.monotonic()
        self._printing = True
        try:
            self._console.out(text + ended, highlight=False, end="")
        finally:
            self._printing = False

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._original.encoding


class Progress:
    """A live line on the terminal (events, rate, failures; with a file, its share read and the
    time left); nothing when ``enabled`` is false (standard error is not a terminal)."""

    def __init__(self, enabled: bool, total: int | None, *, deferred: bool = False) -> None:
        self.enabled = enabled
        self.deferred = deferred
        self.total = total or None
        self._live: Any = None
        self._task: Any = None
        self._above: Above | None = None
        self._streams: tuple[TextIO, TextIO] | None = None
        self._started = time.perf_counter()
        self._shown = 0.0

    def __enter__(self) -> Progress:
        if not self.deferred:
            self._start()
        return self

    def _start(self) -> None:
        """Start the display. Before a dry run's requests are printed, so that they go above it;
        deferred to the first count for several processes, so that its refresh thread comes
        after they have started (a process is forked only while no other thread runs)."""
        if not self.enabled or self._live is not None:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if self.total:
            columns += [BarColumn(), TaskProgressColumn(), TimeRemainingColumn()]
        console = Console(file=sys.stderr)  # the stream itself: sys.stderr is about to write above the line
        self._live = Progress(
            *columns, TimeElapsedColumn(), console=console, transient=True, redirect_stdout=False, redirect_stderr=False
        )
        self._streams = (sys.stdout, sys.stderr)
        self._above = Above(console, sys.stderr)
        sys.stderr = cast(TextIO, self._above)
        if _same_terminal(sys.stdout, self._streams[1]):
            sys.stdout = cast(TextIO, self._above)
        self._live.start()
        self._task = self._live.add_task("starting", total=self.total)

    def relayed(self) -> tuple[int, ...]:
        """The file descriptors other processes should write through this one's streams while
        the line is shown: standard error, and standard output when it is the same terminal."""
        if not self.enabled:
            return ()
        return (1, 2) if _same_terminal(sys.stdout, sys.stderr) else (2,)

    def show(self, counts: Counts) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._shown < 0.1:
            return
        self._shown = now
        self._start()
        rate = counts.events / max(now - self._started, 1e-9)
        description = f"{counts.events:,} events  {rate:,.0f}/s  {counts.failed:,} not delivered"
        self._live.update(self._task, description=description, completed=counts.position if self.total else None)

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._above is not None:
                self._above.close(before=self._live.stop)  # no batch between the line's last drawing and its removal
        finally:
            if self._streams is not None:
                sys.stdout, sys.stderr = self._streams


def _same_terminal(stream: TextIO, other: TextIO) -> bool:
    """Whether ``stream`` writes to the terminal ``other`` writes to."""
    try:
        return stream.isatty() and os.path.samestat(os.fstat(stream.fileno()), os.fstat(other.fileno()))
    except (OSError, ValueError, AttributeError):
        return False
