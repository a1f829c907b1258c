"""What event readers yield, and the bounded line reader under JSON lines.

:func:`bounded_lines` reads a byte stream (a file, standard input, a gzip stream) line by
line without ever holding more than ``limit`` bytes of one line: past the limit, the rest of
the line is read and dropped up to the next newline, and only its size is kept. So memory
stays flat whatever the input, a 1 GiB line included, and the lines after it are read on.

:func:`event_line` turns one event's bytes into a :class:`Line`: the event, or the problem
with it (over the size limit, or refused by :func:`~destkit.eventjson.parse_event_json`).

A reader given a :data:`Keep` yields only the lines it keeps: it is asked about each line with
the line's number and its JSON value (None for a line that is not JSON or is over the limit),
before the value's limits are checked, so the lines it refuses cost one parse and nothing more
(a replay's process skips the other processes' lines this way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import DestkitError
from .eventjson import EventJSONError, check_limits, read_json

__all__ = ["Line", "SourceError", "Keep", "bounded_lines", "event_line", "kind_of"]

#: Whether a reader yields a line, told its number and its JSON value (None when it has none).
Keep = Callable[[int, Any], bool]

_SKIP = 1 << 16  # how much of an overlong line is read (and dropped) at a time


class SourceError(DestkitError):
    """The input cannot be read at all (missing file, not gzip, wrong format)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One event of the input: ``line`` is its 1-based line number in the (uncompressed) input."""

    line: int
    event: Any = None
    problem: str | None = None


def bounded_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, the line with its newline or None when longer than ``limit`` bytes, its size without the newline)."""
    readline = stream.readline
    number = 0
    while True:
        raw = readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield number, raw, len(raw) - raw.endswith(b"\n")
            continue
        size = len(raw)
        while not raw.endswith(b"\n"):
            raw = readline(_SKIP)
            if not raw:
                break
            size += len(raw)
        yield number, None, size - raw.endswith(b"\n")


def event_line(number: int, data: bytes | None, size: int, limit: int, keep: Keep | None = None) -> Line | None:
    """The :class:`Line` of one event's bytes (``None`` when the reader dropped them for being
    over ``limit``); None when ``keep`` refuses it."""
    value, problem = None, None
    if data is None or size > limit:
        problem = f"event is {size:,} bytes; the limit is {limit:,} ({limit // 1024} KB)"
    else:
        try:
            value = read_json(data)
        except EventJSONError as exc:
            problem = str(exc)
    if keep is not None and not keep(number, value):
        return None
    if problem is not None:
        return Line(number, problem=problem)
    try:
        event = check_limits(value)
    except EventJSONError as exc:
        return Line(number, problem=str(exc))
    if not isinstance(event, dict):
        return Line(number, problem=f"not a JSON object but {kind_of(event)}")
    return Line(number, event)


def kind_of(value: Any) -> str:
    """How a JSON value is named in messages: an array, a string, a number..."""
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
