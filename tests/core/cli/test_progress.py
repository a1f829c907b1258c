"""Text written above the progress line: whole lines, never re-wrapped, a batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import sys
from typing import Any

import pytest
from rich.console import Console

from destkit.cli import progress
from destkit.cli.progress import Above


def _above(width: int = 20) -> tuple[Above, io.StringIO, io.StringIO]:
    screen, original = io.StringIO(), io.StringIO()
    return Above(Console(file=screen, width=width, force_terminal=False), original), screen, original


def test_lines_written_together_from_the_event_loop_go_out_as_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "EVERY", 0.3)  # the writes below come well within it
    above, screen, original = _above()

    async def write() -> list[str]:
        seen = []
        above.write("first\n")  # the first batch goes at once
        seen.append(screen.getvalue())
        above.write("second\n")
        above.write("third, not ended")
        above.flush()  # not at once: with the next batch
        seen.append(screen.getvalue())
        await asyncio.sleep(progress.EVERY * 2)
        seen.append(screen.getvalue())
        return seen

    assert asyncio.run(write()) == ["first\n", "first\n", "first\nsecond\n"]
    above.close()  # the rest, the line not ended included, once the display is gone
    assert screen.getvalue() == "first\nsecond\n" and original.getvalue() == "third, not ended"
    above.write("late\n")  # after closing: to the stream itself
    assert original.getvalue() == "third, not endedlate\n"


def test_a_line_wider_than_the_terminal_stays_one_line() -> None:
    above, screen, _ = _above(width=20)
    line = 'POST http://127.0.0.1/in  body={"properties": {"a": "' + "x" * 200 + '"}}\n'
    above.write(line)
    assert screen.getvalue() == line


def test_enough_text_goes_out_at_once_without_waiting_for_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "EVERY", 60.0)
    above, screen, _ = _above()

    async def write() -> str:
        above.write("a\n")
        line = "y" * 99 + "\n"
        for _ in range(progress.MOST // len(line) + 1):
            above.write(line)
        return screen.getvalue()

    shown = asyncio.run(write())
    assert len(shown) >= progress.MOST and shown.endswith("\n")


def test_outside_an_event_loop_each_line_goes_out_at_once() -> None:
    above, screen, _ = _above()
    above.write("one\n")
    above.write("two\n")
    assert screen.getvalue() == "one\ntwo\n"


def test_bytes_are_refused_and_the_stream_goes_on() -> None:
    above, screen, _ = _above()
    with pytest.raises(TypeError):
        above.write(b"")  # type: ignore[arg-type]  # click asks a stream whether it takes bytes this way
    above.write("still here\n")
    assert screen.getvalue() == "still here\n"


class _Warning(Console):
    """A console during whose printing something writes to the stream again (a warning, say)."""

    above: Above

    def out(self, *args: Any, **kwargs: Any) -> None:
        self.above.write("written while printing\n")
        super().out(*args, **kwargs)


def test_a_write_made_while_a_batch_is_printed_comes_with_the_next_batch() -> None:
    screen = io.StringIO()
    console = _Warning(file=screen, force_terminal=False)
    above = console.above = Above(console, io.StringIO())
    above.write("one\n")  # no hang: the write made inside waits for the next batch
    assert screen.getvalue() == "one\n"
    above.write("two\n")
    assert screen.getvalue() == "one\nwritten while printing\ntwo\n"


def test_a_line_not_ended_when_the_display_stops_is_shown_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    main, terminal = pty.openpty()
    with open(terminal, "w") as screen:
        monkeypatch.setattr(sys, "stderr", screen)
        with progress.Progress(enabled=True, total=None):
            sys.stderr.write("a whole line\n")
            sys.stderr.write("the end, not ended")
        assert sys.stderr is screen
    shown = bytearray()
    with contextlib.suppress(OSError):  # the terminal is closed: read to its end
        while chunk := os.read(main, 65536):
            shown += chunk
    os.close(main)
    assert b"a whole line\r\n" in shown
    assert shown.endswith(b"the end, not ended")  # not cleared with the line that was drawn after it


def test_on_the_event_loop_a_write_made_while_printing_goes_out_on_the_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "EVERY", 0.05)
    screen = io.StringIO()
    console = _Warning(file=screen, force_terminal=False)
    above = console.above = Above(console, io.StringIO())

    async def write() -> str:
        above.write("one\n")
        await asyncio.sleep(progress.EVERY * 4)  # nothing else written meanwhile
        return screen.getvalue()

    assert asyncio.run(write()).startswith("one\nwritten while printing\n")
