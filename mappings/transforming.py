"""Directives that transform a value: ``@case``, ``@replace``, ``@json``, ``@flatten``,
``@merge``, ``@transform`` and ``@hash``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import MappingError, MappingFailed
from .codegen import Source, emit
from .jstext import js_units
from .jsvalues import MISSING, js_json, js_string, js_truthy
from .nodes import (
    Node,
    check_kind,
    compile_node,
    constant,
    directive,
    directive_name,
    escape_pointer,
    fails_when_evaluated,
    options_of,
    value_node,
)


@directive("@case")
def _case(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@case", {"operator", "value"}, {"operator", "value"})
    operator = options["operator"]
    if operator not in ("lower", "upper"):
        raise MappingError(f'@case operator must be "lower" or "upper", not {operator!r}', f"{pointer}/operator")
    check_kind(options["value"], f"{pointer}/value", "@case value", ("string", "directive"), evaluated_anyway=True)
    value = value_node(options, pointer)
    convert = str.lower if operator == "lower" else str.upper

    def case(event: Any) -> Any:
        resolved = value(event)
        return convert(resolved) if isinstance(resolved, str) else resolved

    def emit_case(source: Source, arg: str, depth: int) -> str:
        resolved = emit(value, source, arg, depth)
        result = source.temp()
        source.line(f"{result} = {resolved}.{operator}() if isinstance({resolved}, str) else {resolved}", depth)
        return result

    case.emit = emit_case  # type: ignore[attr-defined]
    return case


_JS_REPLACEMENT = re.compile(r"\$([$&`'])")


def _js_replacement(text: str | None) -> Callable[[re.Match[str]], str]:
    """A replacement as JavaScript's String.replace reads it: ``$&`` is the match, ``$` `` and
    ``$'`` the text before and after it, ``$$`` a dollar; anything else is literal."""
    template = text or ""

    def replace(match: re.Match[str]) -> str:
        whole = match.string

        def piece(special: re.Match[str]) -> str:
            kind = special.group(1)
            if kind == "$":
                return "$"
            if kind == "&":
                return match.group()
            return whole[: match.start()] if kind == "`" else whole[match.end() :]

        return _JS_REPLACEMENT.sub(piece, template)

    return replace


@directive("@replace")
def _replace(arg: Any, pointer: str) -> Node:
    allowed = {"pattern", "replacement", "pattern2", "replacement2", "ignorecase", "global", "value"}
    options = options_of(arg, pointer, "@replace", allowed, {"pattern", "value"})
    for key in ("pattern", "replacement", "pattern2", "replacement2"):
        if key in options and options[key] is not None and not isinstance(options[key], str):
            raise MappingError(f"@replace {key} must be a string", f"{pointer}/{key}")
    for key in ("ignorecase", "global"):
        if key in options and options[key] is not None and not isinstance(options[key], bool):
            raise MappingError(f"@replace {key} must be true or false", f"{pointer}/{key}")
    if not options["pattern"]:
        raise MappingError("@replace needs a non-empty pattern", f"{pointer}/pattern")
    check_kind(options["value"], f"{pointer}/value", "@replace value", ("string", "directive"), evaluated_anyway=True)
    flags = re.IGNORECASE if options.get("ignorecase") else 0
    count = 0 if options.get("global", True) is not False else 1
    steps = [(re.compile(re.escape(options["pattern"]), flags), _js_replacement(options.get("replacement")))]
    if options.get("pattern2"):
        steps.append((re.compile(re.escape(options["pattern2"]), flags), _js_replacement(options.get("replacement2"))))
    value = value_node(options, pointer)
    value_given = js_truthy(options["value"])

    def replace(event: Any) -> Any:
        if not value_given:
            return MISSING
        resolved = value(event)
        if isinstance(resolved, (bool, int, float)):
            resolved = js_string(resolved)
        if not isinstance(resolved, str):
            return ""  # Segment gives an empty string for a missing or non-text value
        for pattern, replacement in steps:
            resolved = pattern.sub(replacement, resolved, count=count)
        return resolved

    return replace


@directive("@json")
def _json(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@json", {"mode", "value"}, {"mode", "value"})
    mode = options["mode"]
    if mode not in ("encode", "decode"):
        raise MappingError(f'@json mode must be "encode" or "decode", not {mode!r}', f"{pointer}/mode")
    if not js_truthy(options["value"]):  # Segment's validator lets it through, its evaluation refuses it
        return fails_when_evaluated(MappingError(f"@json needs a value, not {js_json(options['value'])}", f"{pointer}/value"))
    value = value_node(options, pointer)
    if mode == "encode":
        return lambda event: js_json(value(event))

    def decode(event: Any) -> Any:
        resolved = value(event)
        if not isinstance(resolved, str):
            return resolved
        try:
            return json.loads(resolved)
        except ValueError:
            return resolved  # a failed decode keeps the raw string

    return decode


def _flatten_value(value: Any, prefix: str, separator: str, omit_arrays: bool, out: dict[str, Any]) -> None:
    if isinstance(value, dict) or (not omit_arrays and isinstance(value, list)):
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in entries:
            _flatten_value(item, f"{prefix}{separator}{key}" if prefix else str(key), separator, omit_arrays, out)
    elif value is not MISSING:
        out[prefix] = value


@directive("@flatten")
def _flatten(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@flatten", {"separator", "value", "omitArrays"}, {"separator"})
    if not js_truthy(options["separator"]):
        raise MappingError("@flatten needs a non-empty separator", f"{pointer}/separator")
    separator = compile_node(options["separator"], f"{pointer}/separator")
    value = compile_node(options["value"], f"{pointer}/value") if "value" in options else constant(MISSING)
    omit_arrays = bool(options.get("omitArrays"))

    def flatten(event: Any) -> Any:
        sep = separator(event)
        if not isinstance(sep, str):
            raise MappingFailed(f"@flatten separator resolved to {js_string(sep)!r}, not a string ({pointer})")
        out: dict[str, Any] = {}
        _flatten_value(value(event), "", sep, omit_arrays, out)
        return out

    return flatten


@directive("@merge")
def _merge(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@merge", {"objects", "direction"}, {"objects", "direction"})
    if not isinstance(options["objects"], list):
        raise MappingError("@merge objects must be a list", f"{pointer}/objects")
    direction = options["direction"]
    if isinstance(direction, str) and direction not in ("left", "right"):
        raise MappingError(f'@merge direction must be "left" or "right", not {direction!r}', f"{pointer}/direction")
    direction_node = compile_node(direction, f"{pointer}/direction")
    for i, item in enumerate(options["objects"]):
        check_kind(item, f"{pointer}/objects/{i}", "each of @merge objects", ("object", "directive"), evaluated_anyway=True)
    objects = tuple(_merged_object(item, f"{pointer}/objects/{i}") for i, item in enumerate(options["objects"]))

    def merge(event: Any) -> Any:
        resolved = [node(event) for node in objects]
        if direction_node(event) == "left":
            resolved.reverse()  # with "left", earlier objects win
        out: dict[str, Any] = {}
        for item in resolved:
            for key, value in _spread(item).items():
                if value is MISSING:  # Object.assign copies undefined, which erases the key
                    out.pop(key, None)
                else:
                    out[key] = value
        return out

    return merge


def _spread(item: Any) -> dict[str, Any]:
    """What Object.assign copies from a value: an object's entries, the indexes of an array or
    of text (by UTF-16 code unit), and nothing from anything else."""
    if isinstance(item, dict):
        return item
    if isinstance(item, str):
        item = js_units(item)
    return {str(index): value for index, value in enumerate(item)} if isinstance(item, list) else {}


def _merged_object(item: Any, pointer: str) -> Node:
    """One of @merge's objects; one written out keeps its missing values, which erase a key in
    Object.assign as JavaScript's undefined does."""
    if not isinstance(item, dict) or directive_name(item, pointer) is not None:
        return compile_node(item, pointer)
    fields = tuple((key, compile_node(value, f"{pointer}/{escape_pointer(str(key))}")) for key, value in item.items())
    return lambda event: {key: node(event) for key, node in fields}


@directive("@transform")
def _transform(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@transform", {"apply", "mapping"}, {"apply", "mapping"})
    check_kind(options["apply"], f"{pointer}/apply", "@transform apply", ("object", "directive"))
    check_kind(options["mapping"], f"{pointer}/mapping", "@transform mapping", ("object", "directive"))
    apply = compile_node(options["apply"], f"{pointer}/apply")
    mapping = compile_node(options["mapping"], f"{pointer}/mapping")

    def transform(event: Any) -> Any:
        return mapping(apply(event))  # the mapping reads the applied object, not the event

    def emit_transform(source: Source, arg: str, depth: int) -> str:
        applied = emit(apply, source, arg, depth)
        return emit(mapping, source, applied, depth)

    transform.emit = emit_transform  # type: ignore[attr-defined]
    return transform


_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@directive("@hash")
def _hash(arg: Any, pointer: str) -> Node:
    inner = compile_node(arg, pointer)

    def hash_(event: Any) -> Any:
        value = inner(event)
        if value is MISSING or value is None:
            return value
        text = js_string(value).strip().lower()
        if _SHA256_HEX.match(text):
            return text  # already hashed: hashing twice would break matching
        return hashlib.sha256(text.encode()).hexdigest()

    return hash_
