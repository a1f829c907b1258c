"""Reading event files as a stream: one :class:`Line` per event, whatever is wrong with it.

Formats: ``.jsonl``/``.ndjson`` (one event a line), ``.json`` (an array of events, or a
Segment batch ``{"batch": [...]}``), each optionally ``.gz``; ``-`` is standard input (JSON
lines unless told otherwise). Memory stays flat: nothing is read far ahead of what is used.

A line that cannot be an event (not UTF-8, not JSON, not an object, over 32 KB, a truncated
last line) comes out with ``problem`` set instead of ``event``; blank lines are skipped.
Only a file that cannot be opened at all raises (:class:`SourceError`).
"""

from __future__ import annotations

import codecs
import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pydantic_core import from_json

from .errors import DestkitError

__all__ = ["Line", "SourceError", "read_events", "open_source", "MAX_EVENT_BYTES", "Format"]

MAX_EVENT_BYTES = 32 * 1024  # the Segment tracking API's limit for one event
Format = Literal["jsonl", "json"]
_CHUNK = 1 << 16


class SourceError(DestkitError):
    """The input cannot be read at all (missing file, not gzip, wrong format)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One event of the input: ``line`` is its 1-based line number in the (uncompressed) input."""

    line: int
    event: Any = None
    problem: str | None = None


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


def read_events(stream: IO[bytes], fmt: Format = "jsonl") -> Iterator[Line]:
    """Every event of ``stream``, in order. A corrupt gzip ends the stream with a problem line."""
    reader = _jsonl if fmt == "jsonl" else _json_document
    last = 0
    try:
        for item in reader(stream):
            last = item.line
            yield item
    except (EOFError, OSError, zlib.error) as exc:
        yield Line(last + 1, problem=f"input ends here: the compressed data is damaged ({type(exc).__name__}: {exc})")


def _jsonl(stream: IO[bytes]) -> Iterator[Line]:
    number = 0
    for raw in stream:
        number += 1
        text = raw.strip()
        if not text:
            continue
        if len(text) > MAX_EVENT_BYTES:
            yield Line(number, problem=f"event is {len(text):,} bytes; the limit is {MAX_EVENT_BYTES:,} (32 KB)")
            continue
        try:
            # pydantic-core's parser (jiter) checks UTF-8 and parses in one pass, about three
            # times quicker than decode() and json.loads here; a line it refuses takes the slow
            # path below, whose errors are the ones users read.
            event = from_json(text)
        except ValueError:
            yield _problem_of(number, text, complete=raw.endswith(b"\n"))
            continue
        if not isinstance(event, dict):
            yield Line(number, problem=f"not a JSON object but {_kind(event)}")
            continue
        yield Line(number, event)


def _problem_of(number: int, text: bytes, complete: bool) -> Line:
    """What is wrong with a line that does not parse, in the standard library's words."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(number, problem=f"not valid UTF-8 (byte {exc.start + 1})")
    try:
        event = json.loads(decoded)
    except json.JSONDecodeError as exc:
        if not complete:
            return Line(number, problem=f"truncated last line: no newline at the end and not complete JSON ({exc.msg})")
        return Line(number, problem=f"not JSON: {exc.msg} at column {exc.colno}")
    # JSON that only the standard library reads (a lone surrogate escape, say) is still JSON.
    if not isinstance(event, dict):
        return Line(number, problem=f"not a JSON object but {_kind(event)}")
    return Line(number, event)


def _kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class _Cursor:
    """Text pulled from a byte stream a chunk at a time, read from ``pos``, with its line number."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.scanner = json.JSONDecoder()
        self.text = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        self.text = self.text[self.pos :]  # drop what has been used; keep memory at a chunk or two
        self.pos = 0
        if not chunk:
            self.eof = True
            self.text += self.decoder.decode(b"", final=True)
            return False
        self.text += self.decoder.decode(chunk)
        return True

    def skip(self, characters: str) -> str:
        """Skip whitespace and ``characters``; return the next character ('' at the end)."""
        while True:
            start = index = self.pos
            text = self.text
            while index < len(text) and (text[index].isspace() or text[index] in characters):
                index += 1
            self.consume(index - start)
            if self.pos < len(self.text) or not self.fill():
                return self.text[self.pos : self.pos + 1]

    def consume(self, count: int) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def value(self) -> tuple[Any, int, str | None]:
        """Decode the next JSON value; returns (value, its length, problem)."""
        while True:
            try:
                value, end = self.scanner.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Maybe the value runs past what has been read: read on, but only as far as an
                # event could reach, so a broken document cannot pull in the whole file.
                if len(self.text) - self.pos <= 2 * MAX_EVENT_BYTES and self.fill():
                    continue
                return None, 0, exc.msg
            if end == len(self.text) and self.fill():
                continue  # a number may go on in the next chunk
            return value, end - self.pos, None


def _json_document(stream: IO[bytes]) -> Iterator[Line]:
    cursor = _Cursor(stream)
    try:
        first = cursor.skip("")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not valid UTF-8 (byte {exc.start + 1})") from None
    if first == "[":
        cursor.consume(1)
        yield from _array_items(cursor)
    elif first == "{":
        cursor.consume(1)
        yield from _batch_items(cursor)
    elif first:
        raise SourceError('a .json input is an array of events or a Segment batch {"batch": [...]}')


def _array_items(cursor: _Cursor) -> Iterator[Line]:
    while True:
        head = cursor.skip(",")
        if head == "]":
            cursor.consume(1)
            return
        if not head:
            yield Line(cursor.line, problem="truncated input: the array is not closed")
            return
        line = cursor.line
        value, length, problem = cursor.value()
        if problem is not None:
            yield Line(line, problem=f"not JSON: {problem}; the rest of the array cannot be read")
            return
        cursor.consume(length)
        if length > MAX_EVENT_BYTES:
            yield Line(line, problem=f"event is {length:,} characters; the limit is {MAX_EVENT_BYTES:,} (32 KB)")
        elif not isinstance(value, dict):
            yield Line(line, problem=f"not a JSON object but {_kind(value)}")
        else:
            yield Line(line, value)


def _batch_items(cursor: _Cursor) -> Iterator[Line]:
    """The events of ``{"batch": [...], ...}``; other keys are read and set aside."""
    found = False
    while True:
        head = cursor.skip(",")
        if head == "}" or not head:
            if not found:
                raise SourceError('a JSON object input must be a Segment batch with a "batch" array')
            return
        key, length, problem = cursor.value()
        if problem is not None or not isinstance(key, str):
            raise SourceError(f"line {cursor.line}: a Segment batch is an object of named values")
        cursor.consume(length)
        cursor.skip(":")
        if key == "batch" and cursor.skip("") == "[":
            found = True
            cursor.consume(1)
            yield from _array_items(cursor)
        else:
            _, length, problem = cursor.value()
            if problem is not None:
                raise SourceError(f"line {cursor.line}: not JSON: {problem}")
            cursor.consume(length)
