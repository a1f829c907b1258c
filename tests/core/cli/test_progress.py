"""Text written above the progress line: whole lines, never re-wrapped, a batch at a time."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from destkit.cli import progress
from destkit.cli.progress import Above


def _above(width: int = 20) -> tuple[Above, io.StringIO, io.StringIO]:
    screen, original = io.StringIO(), io.StringIO()
    return Above(Console(file=screen, width=width, force_terminal=False), original), screen, original


def test_lines_written_together_from_the_event_loop_go_out_as_one_batch() -> None:
    above, screen, _ = _above()

    async def write() -> list[str]:
        seen = []
        above.write("first\n")  # the first batch goes at once
        seen.append(screen.getvalue())
        above.write("second\n")
        above.write("third, not ended")
        above.flush()  # not at once: with the next batch
        seen.append(screen.getvalue())
        await asyncio.sleep(progress.EVERY * 3)
        seen.append(screen.getvalue())
        return seen

    assert asyncio.run(write()) == ["first\n", "first\n", "first\nsecond\n"]
    above.close_batch()  # the rest, the line not ended included
    assert screen.getvalue() == "first\nsecond\nthird, not ended"


def test_a_line_wider_than_the_terminal_stays_one_line() -> None:
    above, screen, _ = _above(width=20)
    body = '{"properties": {"a": "' + "x" * 200 + '"}}'
    above.write("POST http://127.0.0.1/in  body=" + body + "\n")
    above.close_batch()
    assert screen.getvalue() == "POST http://127.0.0.1/in  body=" + body + "\n"


def test_enough_text_goes_out_at_once_without_waiting_for_the_clock() -> None:
    above, screen, _ = _above()

    async def write() -> str:
        above.write("a\n")
        line = "y" * 99 + "\n"
        for _ in range(progress.MOST // len(line) + 1):
            above.write(line)
        return screen.getvalue()

    shown = asyncio.run(write())
    assert shown.count("\n") > progress.MOST // 100 and len(shown) >= progress.MOST


def test_outside_an_event_loop_each_line_goes_out_at_once_and_after_closing_to_the_stream_itself() -> None:
    above, screen, original = _above()
    above.write("one\n")
    above.write("two\n")
    assert screen.getvalue() == "one\ntwo\n"
    above.close_batch()
    above.write("late\n")
    assert screen.getvalue() == "one\ntwo\n" and original.getvalue() == "late\n"
