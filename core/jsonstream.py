"""Reading a ``.json`` document of events as a stream, strictly: an array, or a Segment batch.

The document's frame (``[`` ... ``,`` ... ``]``, or ``{"batch": [...], ...}``) is checked
byte by byte as JSON's grammar says, without recursion; each event is cut out whole and
parsed by :func:`~destkit.eventjson.parse_event_json`. Memory stays within a chunk and one
event: an event longer than the limit is skipped to its end without being kept, and reported.

A frame that breaks the grammar (``[{"a":1} {"b":2}]``, ``[,,{}]``, ``{"batch" [...]}``)
ends the reading with a problem naming the line and column; before any event was read, it
is a :class:`SourceError` (the input is not a document of events at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from .eventjson import EventJSONError, parse_event_json
from .lines import Keep, Line, SourceError, event_line

__all__ = ["read_json_document"]

_CHUNK = 1 << 16
_SPACE = re.compile(rb"[ \t\r\n]*")
_OUTSIDE = re.compile(rb'[\[\]{}"]')  # what changes the state of a scan outside strings
_INSIDE = re.compile(rb'["\\]')  # ... and inside them
_SCALAR_END = re.compile(rb'[ \t\r\n,\]}\[{":]')
_KEY_LIMIT = 1024


class _Frame(Exception):
    """The document's frame breaks JSON's grammar here."""


class _Reader:
    """A byte stream read a chunk at a time; ``buf[pos:]`` is unread; lines and columns are counted."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.offset = 0  # the stream position of buf[0]
        self.line = 1
        self.line_start = 0  # the stream position where the current line starts
        self.eof = False
        self.items = 0  # events read so far (kept or not)

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        self.offset += self.pos
        self.buf = self.buf[self.pos :] + chunk  # what was used is dropped: memory stays a chunk or two
        self.pos = 0
        self.eof = not chunk
        return bool(chunk)

    def take(self, count: int) -> None:
        end = self.pos + count
        newlines = self.buf.count(b"\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.offset + self.buf.rindex(b"\n", self.pos, end) + 1
        self.pos = end

    def where(self) -> str:
        return f"line {self.line} column {self.offset + self.pos - self.line_start + 1}"

    def peek(self) -> bytes:
        """Skip whitespace; the next byte, or b'' at the end."""
        while True:
            found = _SPACE.match(self.buf, self.pos)
            assert found is not None  # the pattern matches the empty string
            self.take(found.end() - self.pos)
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, wanted: bytes, what: str) -> bytes:
        found = self.peek()
        if not found or found not in wanted:  # (b'' is in every bytes)
            shown = f"'{found.decode('latin-1')}'" if found else "the end of the input"
            raise _Frame(f"expected {what} at {self.where()}, found {shown}")
        self.take(1)
        return found

    def value(self, limit: int) -> tuple[bytes | None, int]:
        """Cut out the JSON value starting here: (its bytes, or None when over ``limit``; its size)."""
        first = self.peek()
        if not first:
            raise _Frame(f"expected a value at {self.where()}, found the end of the input")
        if first in b",]}:":  # (first is not b'' here)
            raise _Frame(f"expected a value at {self.where()}, found '{first.decode()}'")
        scan = _Scan(scalar=first not in b'[{"')
        kept: bytes | None = b""
        size = 0
        start = index = self.pos
        while True:
            end = scan.run(self.buf, index)
            if end is not None:
                size += end - start
                if kept is not None:
                    kept += self.buf[start:end]
                self.take(end - self.pos)
                return kept, size
            index = len(self.buf) - scan.hold  # a backslash at the end waits for the byte it escapes
            size += index - start
            if kept is not None:
                kept = kept + self.buf[start:index] if size <= limit else None
            self.take(index - self.pos)
            if not self.more():
                if scan.scalar:  # a number or word running to the end of the input is complete
                    return kept, size
                raise _Frame(f"the input ends inside a value (truncated) at {self.where()}")
            start = index = self.pos


class _Scan:
    """Where one JSON value ends, found a chunk at a time: strings and nesting tracked, nothing parsed."""

    def __init__(self, scalar: bool) -> None:
        self.scalar = scalar
        self.depth = 0
        self.in_string = False
        self.started = False
        self.hold = 0

    def run(self, buf: bytes, index: int) -> int | None:
        """The end of the value in ``buf`` (searched from ``index``), or None if it goes on past ``buf``."""
        self.hold = 0
        if self.scalar:
            found = _SCALAR_END.search(buf, index)
            return found.start() if found else None
        while True:
            found = (_INSIDE if self.in_string else _OUTSIDE).search(buf, index)
            if found is None:
                return None
            byte, index = buf[found.start()], found.end()
            if self.in_string:
                if byte == 0x5C:  # a backslash: skip the byte it escapes
                    if index >= len(buf):
                        self.hold = 1
                        return None
                    index += 1
                    continue
                self.in_string = False
            elif byte == 0x22:
                self.in_string = True
                self.started = True
                continue
            elif byte in b"[{":
                self.depth += 1
                self.started = True
                continue
            else:
                self.depth -= 1
            if self.depth <= 0 and self.started:
                return index


def read_json_document(stream: IO[bytes], limit: int, keep: Keep | None = None) -> Iterator[Line]:
    """The events of a ``.json`` array or Segment batch, each as a :class:`Line` (its line number
    where it starts); with ``keep``, those it keeps (:mod:`destkit.lines`)."""
    reader = _Reader(stream)
    try:
        first = reader.peek()
        if first == b"[":
            reader.take(1)
            yield from _items(reader, limit, keep)
        elif first == b"{":
            reader.take(1)
            yield from _batch(reader, limit, keep)
        elif first:
            raise SourceError('a .json input is an array of events or a Segment batch {"batch": [...]}')
        else:
            return
        if reader.peek():
            raise _Frame(f"expected the end of the input at {reader.where()}, found more")
    except _Frame as exc:
        if not reader.items:
            raise SourceError(f"not a JSON document of events: {exc}") from None
        if keep is None or keep(reader.line, None):
            yield Line(reader.line, problem=f"not JSON: {exc}; the rest of the input cannot be read")


def _items(reader: _Reader, limit: int, keep: Keep | None) -> Iterator[Line]:
    """The array's items, once its ``[`` is taken; ends after its ``]``."""
    if reader.peek() == b"]":
        reader.take(1)
        return
    while True:
        reader.peek()
        line = reader.line
        data, size = reader.value(limit)
        reader.items += 1
        item = event_line(line, data, size, limit, keep)
        if item is not None:
            yield item
        if reader.expect(b",]", "',' or ']' after an event") == b"]":
            return


def _batch(reader: _Reader, limit: int, keep: Keep | None) -> Iterator[Line]:
    """The events of ``{"batch": [...], ...}``, once its ``{`` is taken; other members are checked and skipped."""
    found = False
    if reader.peek() == b"}":
        reader.take(1)
    else:
        while True:
            if reader.peek() != b'"':
                reader.expect(b'"', "a member name in double quotes")
            data, _ = reader.value(_KEY_LIMIT)
            try:
                key = parse_event_json(data) if data is not None else None
            except EventJSONError as exc:
                raise _Frame(f"a member name is not a JSON string ({exc}) at {reader.where()}") from None
            reader.expect(b":", "':' after a member name")
            if key == "batch" and reader.peek() == b"[":
                found = True
                reader.take(1)
                yield from _items(reader, limit, keep)
            else:
                reader.value(0)
            if reader.expect(b",}", "',' or '}' after a member") == b"}":
                break
    if not found:
        raise SourceError('a JSON object input must be a Segment batch with a "batch" array')
