"""What event readers yield, and the bounded line reader under JSON lines.

:func:`bounded_lines` reads a byte stream (a file, standard input, a gzip stream) line by
line without ever holding more than ``limit`` bytes of one line: past the limit, the rest of
the line is read and dropped up to the next newline, and only its size is kept. So memory
stays flat whatever the input, a 1 GiB line included, and the lines after it are read on.

:func:`event_line` turns one event's bytes into a :class:`Line`: the event, or the problem
with it (over the size limit, or refused by :func:`~destkit.eventjson.parse_event_json`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import DestkitError
from .eventjson import EventJSONError, parse_event_json

__all__ = ["Line", "SourceError", "bounded_lines", "event_line", "kind_of"]

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


def event_line(number: int, data: bytes | None, size: int, limit: int) -> Line:
    """The :class:`Line` of one event's bytes (``None`` when the reader dropped them for being over ``limit``)."""
    if data is None or size > limit:
        return Line(number, problem=f"event is {size:,} bytes; the limit is {limit:,} ({limit // 1024} KB)")
    try:
        event = parse_event_json(data)
    except EventJSONError as exc:
        return Line(number, problem=str(exc))
    if not isinstance(event, dict):
        return Line(number, problem=f"not a JSON object but {kind_of(event)}")
    return Line(number, event)


def kind_of(value: Any) -> str:
    """How a JSON value is named in messages: an array, a string, a number..."""
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
