"""Parsing an event's JSON, the one way every entry point does it: strict, bounded, fast.

:func:`parse_event_json` takes the bytes of one JSON document (an event, or a batch of them)
and returns its value, or raises :class:`EventJSONError` naming what is wrong and where:

- not UTF-8, or not JSON (a trailing comma, two values, a truncated document);
- nested deeper than :data:`MAX_DEPTH` levels of objects and arrays (the top level is 1);
- a number that is not finite: ``NaN`` and ``Infinity`` are not JSON, and a number too large
  for a double (``1e999``) would become one;
- a string that is not valid Unicode: a lone surrogate escape such as ``"\\ud800"``.

Bounding the input's size is the reader's job (a line reader, an HTTP body reader), before
the bytes are buffered. The parser is pydantic-core's (jiter), which checks UTF-8 and parses
in one pass; one quick walk of the value, level by level, checks the depth and the floats,
and only when it finds a fault does a slower walk find the path to name.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import from_json

from .errors import EventJSONError

__all__ = ["parse_event_json", "read_json", "check_limits", "EventJSONError", "MAX_DEPTH"]

#: the deepest nesting of objects and arrays an event may have (the event object itself is level 1)
MAX_DEPTH = 64

_SURROGATE = ("surrogate", "hex escape")


def parse_event_json(data: bytes) -> Any:
    """The value of the JSON document ``data``, refused (:class:`EventJSONError`) unless strict JSON within limits."""
    return check_limits(read_json(data))


def read_json(data: bytes) -> Any:
    """The value of ``data`` read as strict JSON, refused (:class:`EventJSONError`) when it is
    not; its depth and numbers are not checked yet (:func:`check_limits` does)."""
    try:
        return from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        raise _explain(data, str(exc)) from None


def check_limits(value: Any) -> Any:
    """``value``, refused (:class:`EventJSONError`) when it nests past MAX_DEPTH or holds a number that is not finite."""
    if not _within_limits(value):
        _check_tree(value)  # the slow walk, which names the spot
    return value


def _within_limits(value: Any) -> bool:
    """Whether ``value`` nests at most MAX_DEPTH deep and holds only finite floats (jiter reads ``1e999`` as infinity).

    One quick walk, level by level, keeping no paths.
    """
    level, depth = [value], 0
    while level:
        depth += 1
        below: list[Any] = []
        extend = below.extend
        for node in level:
            kind = type(node)
            if kind is dict:
                if depth > MAX_DEPTH:
                    return False
                extend(node.values())
            elif kind is list:
                if depth > MAX_DEPTH:
                    return False
                extend(node)
            elif kind is float and node - node != 0.0:  # inf - inf and nan - nan are nan
                return False
        level = below
    return True


def _explain(data: bytes, message: str) -> EventJSONError:
    """jiter's complaint, in words that say what is wrong and where."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return EventJSONError("not valid UTF-8", where=f"byte {exc.start + 1}")
    where = message.rpartition(" at line ")[2]
    if "recursion limit" in message:
        return EventJSONError(f"nested deeper than {MAX_DEPTH} levels", where=f"line {where}")
    if any(word in message for word in _SURROGATE):
        reason = f"not valid Unicode: {message.rpartition(' at line ')[0]} (a \\u escape is 4 hex digits, surrogates in pairs)"
        return EventJSONError(reason, where=f"line {where}")
    line, _, column = where.partition(" column ")
    if line.isdigit() and column.isdigit():
        found = _non_finite_at(data, int(line), int(column))
        if found:
            word, column = found
            return EventJSONError(f"{word} is not a JSON number (not finite)", where=f"line {line} column {column}")
    return EventJSONError(f"not JSON: {message}")


def _non_finite_at(data: bytes, line: int, column: int) -> tuple[str, str] | None:
    """``NaN``, ``Infinity`` or ``-Infinity`` where jiter stopped, with the column where it starts."""
    rows = data.split(b"\n", line)
    if len(rows) < line:
        return None
    start = max(column - 2, 0)  # jiter points at the word, or just past its minus sign
    rest = rows[line - 1][start : start + 10]
    for word in (b"-Infinity", b"Infinity", b"NaN"):
        index = rest.find(word)
        if 0 <= index <= 1:
            return word.decode(), str(start + index + 1)
    return None


def _check_tree(value: Any) -> None:
    """Refuse nesting past MAX_DEPTH and non-finite floats, naming the path to the spot (``$.a[2].b``)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "$")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            items: Any = ((f"{path}.{key}", child) for key, child in node.items())
        elif isinstance(node, list):
            items = ((f"{path}[{index}]", child) for index, child in enumerate(node))
        else:
            if isinstance(node, float) and not math.isfinite(node):
                raise EventJSONError("a number too large to be finite (over 1.8e308)", where=path)
            continue
        if depth > MAX_DEPTH:
            raise EventJSONError(f"nested deeper than {MAX_DEPTH} levels", where=path)
        stack.extend((child, depth + 1, child_path) for child_path, child in items)
