"""Directives that choose between values: ``@if``, ``@coalesce``, ``@excludeWhenNull``."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import MappingError, MappingWarning
from .codegen import Source, emit
from .jsvalues import MISSING, js_string, js_truthy
from .nodes import Node, compile_node, compile_raw, constant, directive, fails_when_evaluated, options_of


def _js_blank(value: Any) -> bool:
    """Segment's ``blank`` test: missing, null, or loosely equal to "" in JavaScript."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        return value == ""
    if isinstance(value, list):
        return js_string(value) == ""
    return False


@directive("@if")
def _if(arg: Any, pointer: str) -> Node:
    options = options_of(arg, pointer, "@if", {"exists", "blank", "then", "else"})
    if not js_truthy(options.get("exists", MISSING)) and not js_truthy(options.get("blank", MISSING)):
        # Segment reads a falsy literal (0, "", false, null) as no test at all; its validator lets it
        # through, its evaluation refuses it
        message = "@if needs an 'exists' or a 'blank' key holding a path or a value that is not falsy"
        return fails_when_evaluated(MappingError(message, pointer))
    if "exists" in options:
        tested = compile_node(options["exists"], f"{pointer}/exists")

        def condition(event: Any) -> bool:
            value = tested(event)
            return value is not MISSING and value is not None

    elif "blank" in options:
        tested = compile_node(options["blank"], f"{pointer}/blank")

        def condition(event: Any) -> bool:
            return not _js_blank(tested(event))

    else:
        raise MappingError("@if needs an 'exists' or a 'blank' key", pointer)
    if "then" not in options and "else" not in options:
        # Segment accepts it (both branches are optional there) and it gives missing.
        warnings.warn(MappingWarning("@if has neither 'then' nor 'else', so it always gives nothing", pointer), stacklevel=2)
    then = compile_node(options["then"], f"{pointer}/then") if "then" in options else constant(MISSING)
    # Segment takes `else` only when the else value itself is truthy.
    otherwise = compile_node(options["else"], f"{pointer}/else") if js_truthy(options.get("else", MISSING)) else constant(MISSING)

    def if_(event: Any) -> Any:
        return then(event) if condition(event) else otherwise(event)

    exists = "exists" in options

    def emit_if(source: Source, arg: str, depth: int) -> str:
        value = emit(tested, source, arg, depth)
        if exists:
            source.line(f"if {value} is not M and {value} is not None:", depth)
        else:
            source.line(f"if not {source.bind(_js_blank)}({value}):", depth)
        result = source.temp()
        source.line(f"{result} = {emit(then, source, arg, depth + 1)}", depth + 1)
        source.line("else:", depth)
        source.line(f"{result} = {emit(otherwise, source, arg, depth + 1)}", depth + 1)
        return result

    if_.emit = emit_if  # type: ignore[attr-defined]
    return if_


@directive("@coalesce")
def _coalesce(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, list) or not arg:
        raise MappingError("@coalesce takes a non-empty list of values to try in turn", pointer)
    nodes = tuple(compile_node(item, f"{pointer}/{index}") for index, item in enumerate(arg))

    def coalesce(event: Any) -> Any:
        for node in nodes:
            value = node(event)
            if value is not MISSING and value is not None:
                return value
        return MISSING

    def emit_coalesce(source: Source, arg: str, depth: int) -> str:
        result = source.temp()
        for node in nodes:  # each next try sits in the previous one's else branch
            value = emit(node, source, arg, depth)
            source.line(f"if {value} is not M and {value} is not None:", depth)
            source.line(f"{result} = {value}", depth + 1)
            source.line("else:", depth)
            depth += 1
        source.line(f"{result} = M", depth)
        return result

    coalesce.emit = emit_coalesce  # type: ignore[attr-defined]
    return coalesce


def _without_nulls(value: Any) -> Any:
    """An object's keys holding null removed, through nested objects (arrays are left alone)."""
    if type(value) is not dict:
        return value
    return {key: _without_nulls(item) for key, item in value.items() if item is not None}


@directive("@excludeWhenNull")
def _exclude_when_null(arg: Any, pointer: str) -> Node:
    inner = compile_raw(arg, pointer)

    def exclude_when_null(event: Any) -> Any:
        value = inner(event)
        return MISSING if value is None else _without_nulls(value)

    def emit_exclude(source: Source, arg: str, depth: int) -> str:
        value = emit(inner, source, arg, depth)
        result = source.temp()
        source.line(f"{result} = M if {value} is None else {source.bind(_without_nulls)}({value})", depth)
        return result

    exclude_when_null.emit = emit_exclude  # type: ignore[attr-defined]
    return exclude_when_null
