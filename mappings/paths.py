"""Reading a value out of an event by path, compiled once.

Plain paths (``$.traits.address.city``, ``properties.products[0].sku``, ``$.`` for the whole
event) take a fast path of dict and list lookups. Anything else (``[*]``, ``..``, filters,
slices, quoted keys) goes through jsonpath-ng, and gives the list of what it matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .codegen import Source, path_expression
from .jstext import JS_INDEX, js_length, js_units
from .jsvalues import MISSING

__all__ = ["compile_path", "compile_key_path", "Getter", "is_plain_path", "js_step"]

Getter = Callable[[Any], Any]

_PLAIN = re.compile(r"^[A-Za-z0-9_\-$@ ]+(?:\[\d+\])*(?:\.[A-Za-z0-9_\-$@ ]+(?:\[\d+\])*)*$")
_SEGMENT = re.compile(r"[^.\[\]]+")


def _strip_root(path: str) -> str:
    path = path.strip()
    if path in ("", "$", "$.", "."):
        return ""
    if path.startswith("$."):
        return path[2:]
    if path.startswith("$["):
        return path[1:]
    return path


def is_plain_path(path: str) -> bool:
    rest = _strip_root(path)
    return rest == "" or bool(_PLAIN.match(rest))


def compile_path(path: str) -> Getter:
    """A function that reads ``path`` from its argument, returning MISSING when it is not there.

    Raises ValueError for a path jsonpath-ng cannot parse.
    """
    rest = _strip_root(path)
    if rest == "":
        return _whole
    if _PLAIN.match(rest):
        return _plain_getter(tuple(_SEGMENT.findall(rest)))
    return _jsonpath_getter("$." + rest if not rest.startswith("[") else "$" + rest)


_KEY_SPLIT = re.compile(r"""\[(?="|'|\d)|\.|(?<="|'|\d)\]+""")


def compile_key_path(path: str) -> Getter:
    """A path read key by key, never as JSONPath, as Segment reads ``@template`` placeholders:
    split at dots and index brackets, quotes dropped."""
    keys = tuple(key for part in _KEY_SPLIT.split(path) if (key := part.replace('"', "").replace("'", "")))
    return _plain_getter(keys) if keys else _whole


def _whole(value: Any) -> Any:
    return value


_whole.emit = lambda source, arg, depth: arg  # type: ignore[attr-defined]


def _emitter(keys: tuple[str, ...]) -> Callable[[Source, str, int], str]:
    def emit(source: Source, arg: str, depth: int) -> str:
        result = source.temp()
        source.line(f"{result} = {path_expression(source, arg, keys, _step)}", depth)
        return result

    return emit


def _step(value: Any, key: str) -> Any:
    """``value[key]`` as Segment's paths read it (``value && value[key]`` in JavaScript): a
    falsy value (null, 0, "", false) ends the walk and is the result; text and arrays have
    indexes and a length (text counted in UTF-16 code units); anything else has no members."""
    if type(value) is dict:
        return value.get(key, MISSING)
    if isinstance(value, str) and value:
        if key == "length":
            return js_length(value)
        if JS_INDEX.match(key):
            units = js_units(value)
            return units[int(key)] if int(key) < len(units) else MISSING
        return MISSING
    if isinstance(value, list):  # an array, even empty, is truthy in JavaScript
        if key == "length":
            return len(value)
        return value[int(key)] if JS_INDEX.match(key) and int(key) < len(value) else MISSING
    if value is None or value is False or value == "" or (isinstance(value, (int, float)) and value == 0):
        return value
    if isinstance(value, dict):
        return value.get(key, MISSING)
    return MISSING


js_step = _step  # the public name, for triggers


def _plain_getter(keys: tuple[str, ...]) -> Getter:
    getter = _plain_closure(keys)
    getter.keys = keys  # type: ignore[attr-defined]  # written out inline by the code generator
    getter.emit = _emitter(keys)  # type: ignore[attr-defined]
    return getter


def _plain_closure(keys: tuple[str, ...]) -> Getter:
    # Specialised closures for the common short paths: most mapped fields are one to three deep.
    if len(keys) == 1:
        (k1,) = keys

        def get1(value: Any) -> Any:
            if type(value) is dict:
                return value.get(k1, MISSING)
            return _step(value, k1)

        return get1
    if len(keys) == 2:
        k1, k2 = keys

        def get2(value: Any) -> Any:
            if type(value) is dict:
                inner = value.get(k1, MISSING)
                if type(inner) is dict:
                    return inner.get(k2, MISSING)
            else:
                inner = _step(value, k1)
            return MISSING if inner is MISSING else _step(inner, k2)

        return get2

    def get_n(value: Any) -> Any:
        for key in keys:
            value = _step(value, key)
            if value is MISSING:
                return MISSING
        return value

    return get_n


def _jsonpath_getter(expression: str) -> Getter:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        parsed = parse(expression)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise ValueError(f"invalid JSONPath {expression!r}: {exc}") from None

    def find(value: Any) -> Any:
        matches = [match.value for match in parsed.find(value)]
        return matches if matches else MISSING

    return find
