"""Writing a compiled mapping or trigger out as one Python function: the languages' fast path.

Both languages first compile into small functions (nodes) that call one another. Calling a
function costs more than most of what the nodes do, so the common nodes also know how to
*write themselves* into one generated function: plain paths become chains of ``dict.get``,
objects a dict filled field by field, ``@if`` an ``if`` statement. A node that cannot write
itself is called from the generated code, so every node works, written out or not.

A node writes itself by an ``emit(source, arg, depth)`` attribute: it adds statements to
``source`` at ``depth`` (which read the node's input from the name ``arg``) and returns a name
or a literal that holds its value afterwards (cheap to read more than once). The generated text reads only names this
module makes (temporaries, bound values) and ``repr`` of strings and numbers, never text
taken from a mapping unquoted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from .jsvalues import MISSING

__all__ = ["Source", "emit", "literal", "as_function", "path_expression"]

Emitter = Callable[["Source", str, int], str]


class Source:
    """The text of one function being written, and the values its names stand for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"M": MISSING}
        self._counter = itertools.count()

    def temp(self) -> str:
        return f"_t{next(self._counter)}"

    def bind(self, value: Any) -> str:
        """A name the generated code reads ``value`` by."""
        name = f"_b{next(self._counter)}"
        self.names[name] = value
        return name

    def line(self, text: str, depth: int) -> None:
        self.lines.append("    " * depth + text)

    def function(self, name: str, result: str, *, wrap: Callable[[Exception], Exception] | None = None) -> Callable[[Any], Any]:
        """Compile the statements into ``def name(event)`` returning ``result``.

        With ``wrap``, any exception but those ``wrap`` returns unchanged is replaced by
        ``wrap(exc)`` (so evaluation raises one kind of error).
        """
        body = [*self.lines, f"return {result}"]
        if wrap is None:
            text = "\n".join([f"def {name}(event):", *("    " + line for line in body)])
        else:
            self.names["_wrap"] = wrap
            text = "\n".join(
                [
                    f"def {name}(event):",
                    "    try:",
                    *("        " + line for line in body),
                    "    except Exception as exc:",
                    "        wrapped = _wrap(exc)",
                    "        if wrapped is exc:",
                    "            raise",
                    "        raise wrapped from exc",
                ]
            )
        namespace = dict(self.names)
        # The text holds only names made here and reprs of strings and numbers.
        exec(compile(text, f"<destkit {name}>", "exec"), namespace)
        function: Callable[[Any], Any] = namespace[name]
        function.source = text  # type: ignore[attr-defined]  # for debugging: what was generated
        return function


def literal(source: Source, value: Any) -> str:
    """An expression for a constant: itself for plain strings and numbers, else a bound name."""
    if value is None or value is True or value is False:
        return repr(value)
    if type(value) in (str, int) or (type(value) is float and value == value and value not in (float("inf"), float("-inf"))):
        return repr(value)
    return source.bind(value)


def emit(node: Callable[[Any], Any], source: Source, arg: str, depth: int) -> str:
    """Write ``node`` applied to ``arg`` into ``source``; a call when it cannot write itself."""
    emitter: Emitter | None = getattr(node, "emit", None)
    if emitter is not None:
        value = emitter(source, arg, depth)
        if value.isidentifier():
            return value
        # A literal: named, so the caller may test it with `is` (which Python warns about for literals).
        result = source.temp()
        source.line(f"{result} = {value}", depth)
        return result
    result = source.temp()
    source.line(f"{result} = {source.bind(node)}({arg})", depth)
    return result


def as_function(
    node: Callable[[Any], Any], name: str = "node", wrap: Callable[[Exception], Exception] | None = None
) -> Callable[[Any], Any] | None:
    """The node written out as one function; None when it cannot be (it has no ``emit``, or
    the text is beyond what Python compiles, such as a hundred nested ``@coalesce``)."""
    if getattr(node, "emit", None) is None:
        return None
    source = Source()
    try:
        result = emit(node, source, "event", 0)
        return source.function(name, result, wrap=wrap)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None


def path_expression(source: Source, arg: str, keys: tuple[str, ...], step: Callable[[Any, str], Any]) -> str:
    """An expression reading ``keys`` in turn from ``arg``: ``dict.get`` for dicts, ``step``
    (lists, other mappings, MISSING) for anything else."""
    expression = arg
    source.names["_step"] = step
    for key in keys:
        key_text = repr(key)
        if expression.isidentifier():
            name = tested = expression
        else:  # an expression is evaluated once, into a temporary
            name = source.temp()
            tested = f"({name} := {expression})"
        expression = f"({name}.get({key_text}, M) if {tested}.__class__ is dict else _step({name}, {key_text}))"
    return expression
