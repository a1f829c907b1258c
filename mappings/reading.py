"""Directives that read the event: ``@path``, ``@literal``, ``@template``, ``@arrayPath``."""

from __future__ import annotations

import re
from typing import Any

from ..errors import MappingError
from .codegen import Source, as_function, emit
from .jsvalues import MISSING, js_string
from .nodes import Node, compile_node, compile_raw, constant, directive
from .paths import compile_key_path, compile_path


@directive("@path")
def _path(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, str):
        raise MappingError(f'@path takes a path string such as "$.traits.email", not {type(arg).__name__}', pointer)
    try:
        return compile_path(arg)
    except ValueError as exc:
        raise MappingError(str(exc), pointer) from None


@directive("@literal")
def _literal(arg: Any, pointer: str) -> Node:
    return compile_raw(arg, pointer)  # Segment resolves the value, directives included


_PLACEHOLDER = re.compile(r"\{\{\{([^}]+)\}\}\}|\{\{([^}]+)\}\}")


@directive("@template")
def _template(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, str):
        raise MappingError(f"@template takes a string, not {type(arg).__name__}", pointer)
    parts: list[str | Node] = []
    position = 0
    for match in _PLACEHOLDER.finditer(arg):
        if match.start() > position:
            parts.append(arg[position : match.start()])
        getter = compile_key_path((match.group(1) or match.group(2)).strip())
        parts.append(getter)  # {{x}} and {{{x}}} alike: the value as is, never HTML-escaped
        position = match.end()
    if position < len(arg):
        parts.append(arg[position:])
    if all(isinstance(part, str) for part in parts):
        return constant(arg)

    def template(event: Any) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part(event)
            if value is not MISSING and value is not None:
                out.append(js_string(value))
        return "".join(out)

    def emit_template(source: Source, arg: str, depth: int) -> str:
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            v = emit(part, source, arg, depth)
            source.names["_js_string"] = js_string
            pieces.append(f'("" if {v} is M or {v} is None else {v} if isinstance({v}, str) else _js_string({v}))')
        out = source.temp()
        source.line(f"{out} = {' + '.join(pieces)}", depth)
        return out

    template.emit = emit_template  # type: ignore[attr-defined]
    return template


@directive("@arrayPath")
def _array_path(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, list) or not 1 <= len(arg) <= 2:
        raise MappingError("@arrayPath takes [path] or [path, item shape]", pointer)
    path = arg[0]
    if isinstance(path, str):
        root = _path(path, f"{pointer}/0")
    else:
        root = compile_node(path, f"{pointer}/0")
    shape = arg[1] if len(arg) == 2 else None
    if shape is not None and not isinstance(shape, dict):
        raise MappingError("@arrayPath's item shape must be an object", f"{pointer}/1")
    if not shape:
        return root
    item_node = compile_node(shape, f"{pointer}/1")  # evaluated with each item as its root
    item = as_function(item_node, "item") or item_node

    def array_path(event: Any) -> Any:
        value = root(event)
        if isinstance(value, list):
            return [item(element) for element in value]
        if isinstance(value, dict):
            return [item(value)]  # a single object is treated as a list of one
        return value

    return array_path
