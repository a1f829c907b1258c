"""Reading event files as a stream: one :class:`Line` per event, whatever is wrong with it.

Formats: ``.jsonl``/``.ndjson`` (one event a line), ``.json`` (an array of events, or a
Segment batch ``{"batch": [...]}``), each optionally ``.gz``; ``-`` is standard input (JSON
lines unless told otherwise). Memory stays flat: nothing is read far ahead of what is used.

A line that cannot be an event (not UTF-8, not JSON, nested too deep, a non-finite number,
not an object, over 32 KB, a truncated last line) comes out with ``problem`` set instead of
``event``; blank lines are skipped. A line over the limit is never held whole: it is read
past (and counted) up to its newline, in a ``.gz`` too. Only an input that cannot be read as
events at all raises (:class:`SourceError`). Events are parsed by
:func:`~destkit.eventjson.parse_event_json`, as the service parses them.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from .jsonstream import read_json_document
from .lines import Keep, Line, SourceError, bounded_lines, event_line

__all__ = ["Line", "SourceError", "Keep", "read_events", "open_source", "MAX_EVENT_BYTES", "Format"]

MAX_EVENT_BYTES = 32 * 1024  # the Segment tracking API's limit for one event
Format = Literal["jsonl", "json"]


def _format_of(path: str) -> Format:
    name = path.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    raise SourceError(f"{path}: unknown format (name it .jsonl, .ndjson or .json, optionally .gz, or pass --format)")


def open_source(path: str, fmt: Format | None = None) -> tuple[IO[bytes], Format]:
    """Open ``path`` (or ``-``) for reading, checking up front that a gzip file is one."""
    if path == "-":
        return sys.stdin.buffer, fmt or "jsonl"
    file = Path(path)
    if not file.is_file():
        raise SourceError(f"{path}: no such file")
    chosen = fmt or _format_of(path)
    try:
        raw: IO[bytes] = open(file, "rb")  # noqa: SIM115 - returned open, the caller closes it
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror}") from None
    if path.lower().endswith(".gz"):
        if raw.read(2) != b"\x1f\x8b":
            raw.close()
            raise SourceError(f"{path}: not a gzip file (it does not start like one)")
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb"), chosen  # type: ignore[return-value]
    return raw, chosen


def read_events(stream: IO[bytes], fmt: Format = "jsonl", keep: Keep | None = None) -> Iterator[Line]:
    """Every event of ``stream``, in order (those ``keep`` keeps, when given: see :mod:`destkit.lines`).
    A corrupt gzip ends the stream with a problem line, numbered after the last line reached
    (kept or not: every reader of the stream numbers it alike)."""
    reached = 0

    def noting(number: int, value: Any) -> bool:
        nonlocal reached
        reached = number
        return keep is None or keep(number, value)

    try:
        yield from _jsonl(stream, noting) if fmt == "jsonl" else read_json_document(stream, MAX_EVENT_BYTES, noting)
    except (EOFError, OSError, zlib.error) as exc:
        if keep is None or keep(reached + 1, None):
            yield Line(reached + 1, problem=f"input ends here: the compressed data is damaged ({type(exc).__name__}: {exc})")


def _jsonl(stream: IO[bytes], keep: Keep | None) -> Iterator[Line]:
    # The reader allows one byte over the limit for a line's "\r"; the event itself is held to it.
    for number, raw, size in bounded_lines(stream, MAX_EVENT_BYTES + 1):
        text = raw.strip() if raw is not None else None
        if text == b"":
            continue
        line = event_line(number, text, size if text is None else len(text), MAX_EVENT_BYTES, keep)
        if line is None:
            continue
        if line.problem is not None and line.problem.startswith("not JSON") and raw is not None and not raw.endswith(b"\n"):
            line = Line(number, problem=f"truncated last line: no newline at the end and {line.problem}")
        yield line
