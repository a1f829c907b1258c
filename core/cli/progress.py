"""The live progress line of ``destkit replay`` on a terminal, and the text written above it.

The line is drawn on standard error. While it is shown, what the process writes to that
terminal (log lines and problems on standard error; a dry run's requests on standard output
when it is the same terminal) goes above the line, as written: never broken at the terminal's
width (a request's body stays one line, to copy whole), and a batch at a time, so that the
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
    ``MOST`` characters wait. ``close_batch`` writes whatever is left, a line not ended included."""

    def __init__(self, console: Any, original: TextIO) -> None:
        super().__init__()
        self._console = console
        self._original = original
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._size = 0
        self._written = 0.0  # when the last batch went out (time.monotonic)
        self._pending = False  # a batch is due on the event loop's timer
        self._closed = False

    def write(self, text: str) -> int:
        with self._lock:
            if self._closed:
                return self._original.write(text)
            self._parts.append(text)
            self._size += len(text)
            if self._size < MOST and time.monotonic() - self._written < EVERY:
                if self._pending:
                    return len(text)
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    loop = None
                if loop is not None:
                    self._pending = True
                    loop.call_later(EVERY, self._batch)
                    return len(text)
        self._batch()
        return len(text)

    def flush(self) -> None:
        """Nothing at once: what is kept goes out with the next batch (within ``EVERY`` seconds)."""

    def close_batch(self) -> None:
        """Write everything kept; later writes go straight to the original stream."""
        self._batch(final=True)

    def _batch(self, final: bool = False) -> None:
        with self._lock:
            self._pending = False
            if self._closed:
                return
            self._closed = final
            text = "".join(self._parts)
            if not final:
                text, ended, rest = text.rpartition("\n")
                text += ended
                self._parts = [rest] if rest else []
                self._size = len(rest)
            else:
                self._parts, self._size = [], 0
            self._written = time.monotonic()
            if text:
                self._console.out(text, highlight=False, end="")

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
        self._live.start()
        self._task = self._live.add_task("starting", total=self.total)
        self._streams = (sys.stdout, sys.stderr)
        self._above = Above(console, sys.stderr)
        sys.stderr = cast(TextIO, self._above)
        if _same_terminal(sys.stdout, self._streams[1]):
            sys.stdout = cast(TextIO, self._above)

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
        if self._streams is not None:
            sys.stdout, sys.stderr = self._streams
        if self._above is not None:
            self._above.close_batch()
        if self._live is not None:
            self._live.stop()


def _same_terminal(stream: TextIO, other: TextIO) -> bool:
    """Whether ``stream`` writes to the terminal ``other`` writes to."""
    try:
        return stream.isatty() and os.path.samestat(os.fstat(stream.fileno()), os.fstat(other.fileno()))
    except (OSError, ValueError, AttributeError):
        return False
