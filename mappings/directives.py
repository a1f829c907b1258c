"""The field-mapping language: Segment mapping-kit's directives, compiled once into functions.

A mapping is JSON. Plain values are copied; an object whose only ``@``-key is a directive
(``{"@path": "$.userId"}``; a ``_metadata`` key may stand beside it) is evaluated against the
event. A value that resolves to "missing" drops its key (an array's missing item stays
missing until the payload is finished, then is ``null``, as in Segment); ``null`` stays. :func:`compile_mapping`
checks the whole mapping up front and raises :class:`MappingError` with a JSON pointer to
the spot; evaluating never raises anything but :class:`MappingFailed`.

Each directive compiles into a node (a small function); :func:`compile_mapping` then writes
the whole mapping out as one Python function (:mod:`.codegen`), inlining paths, objects,
``@if``, ``@coalesce``, ``@case``, ``@template`` and the like, and calling the other nodes.

destkit extensions (not in Segment): ``@coalesce`` and ``@hash``; ``@path`` accepts full
JSONPath; ``@replace`` has no 10-character limit. Arguments are checked when the mapping
compiles where Segment's validator checks them (see :func:`.nodes.compile_raw`); elsewhere
they are evaluated as Segment evaluates them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import MappingError, MappingFailed
from . import choosing, liquid, reading, transforming  # noqa: F401  (importing them registers their directives)
from .codegen import Source, as_function, emit
from .jsvalues import js_output
from .nodes import DIRECTIVES, Node, compile_node, directive_name, may_leave_holes

__all__ = ["compile_mapping", "compile_node", "DIRECTIVES", "Node"]


def compile_mapping(mapping: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Compile a mapping (an object of fields) into ``event -> payload``.

    Raises :class:`MappingError` naming the spot, e.g. ``/traits/@if/then: ...``.
    """
    if not isinstance(mapping, dict):
        raise MappingError(f"a mapping is an object of fields, not {type(mapping).__name__}")
    if directive_name(mapping, "") is not None:
        raise MappingError("a mapping is an object of fields; put the directive under a field name")
    try:
        node = compile_node(mapping, "")
    except RecursionError:
        raise MappingError("the mapping nests too deeply") from None
    if may_leave_holes(mapping):
        node = _finished(node)
    written = as_function(node, "mapping", wrap=_as_mapping_failed)
    if written is not None:
        return written

    def apply(event: dict[str, Any]) -> dict[str, Any]:  # the same, one node calling the next
        try:
            result: dict[str, Any] = node(event)
        except Exception as exc:
            wrapped = _as_mapping_failed(exc)
            if wrapped is exc:
                raise
            raise wrapped from exc
        return result

    return apply


def _finished(node: Node) -> Node:
    """The node, its payload finished (:func:`js_output`): only mappings that may leave a
    missing item in an array pay for the walk."""

    def finished(event: Any) -> Any:
        return js_output(node(event))

    def emit_finished(source: Source, arg: str, depth: int) -> str:
        value = emit(node, source, arg, depth)
        result = source.temp()
        source.line(f"{result} = {source.bind(js_output)}({value})", depth)
        return result

    if getattr(node, "emit", None) is not None:
        finished.emit = emit_finished  # type: ignore[attr-defined]
    return finished


def _as_mapping_failed(exc: Exception) -> Exception:
    if isinstance(exc, MappingFailed):
        return exc
    # An evaluation bug must not end a run: it is this event's failure.
    return MappingFailed(f"mapping could not be applied: {type(exc).__name__}: {exc}")
