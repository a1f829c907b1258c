"""``@liquid``: a Liquid template rendered against the event, as Segment's mapping-kit does it.

Segment renders with LiquidJS; destkit with python-liquid, set up to agree with LiquidJS where
the two engines differ: numbers are written as JavaScript writes them (``3``, not ``3.0``),
arithmetic is JavaScript's floating point (``divided_by: 2`` on 7 is 3.5), ``round`` rounds
halves up, objects print as ``[object Object]``, dates are read and written in UTC, ``json``
writes what ``JSON.stringify`` writes, and an unknown filter passes its value through.

Segment's limits hold: at most 1,000 characters; the tags ``case``, ``for``, ``include``,
``layout``, ``render`` and ``tablerow`` and the filters in :data:`DISABLED_FILTERS` are
disabled. A template is parsed once, when the mapping compiles (a syntax error or a disabled
tag or filter is a :class:`MappingError` naming it); a render error is that event's
:class:`MappingFailed`. A render's assigned variables and its output are bounded besides.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any, TextIO

from liquid import Environment
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.context import RenderContext
from liquid.exceptions import LiquidError
from liquid.undefined import is_undefined

from ..errors import MappingError, MappingFailed
from .conditions import js_to_number
from .jstext import js_length, js_units
from .jsvalues import js_json
from .liquidjs import TEXT_FILTERS, JSTemplate, js_text, js_text_filter, use_js_comparisons
from .nodes import Node, directive

__all__ = ["MAX_LENGTH", "DISABLED_TAGS", "DISABLED_FILTERS", "compile_liquid"]

MAX_LENGTH = 1000
DISABLED_TAGS = frozenset({"case", "for", "include", "layout", "render", "tablerow"})
DISABLED_FILTERS = frozenset(
    {
        "array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp", "group_by",
        "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp", "reverse", "sort",
        "sort_natural", "uniq", "where_exp", "type",
    }
)  # fmt: skip


class _JSOutputNode(OutputNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(js_text(self.expression.evaluate(context)))


class _JSEchoNode(EchoNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(js_text(self.expression.evaluate(context)))


class _JSOutput(Output):
    node_class = _JSOutputNode


class _JSEcho(EchoTag):
    node_class = _JSEchoNode


def _number(value: Any) -> float:
    """LiquidJS's reading of a filter's number: what is not one counts as 0."""
    number = 0.0 if value is None or is_undefined(value) else js_to_number(value)
    return 0.0 if math.isnan(number) else number


def _math(operation: Callable[..., Any]) -> Callable[..., int | float]:
    def apply(value: Any, *args: Any) -> int | float:
        result = float(operation(_number(value), *(_number(arg) for arg in args)))
        # JavaScript has one kind of number: a whole result reads as an integer downstream too
        return int(result) if result.is_integer() and abs(result) < 2**53 else result

    return apply


def _round(value: float, places: float = 0.0) -> float:
    scale = 10.0 ** int(places)
    return float(math.floor(value * scale + 0.5)) / scale  # JavaScript's Math.round: halves go up


def _divide(value: float, by: float) -> float:
    if by == 0:
        return math.inf if value > 0 else -math.inf if value < 0 else math.nan
    return value / by


def _modulo(value: float, by: float) -> float:
    return math.fmod(value, by) if by else math.nan  # JavaScript's % keeps the dividend's sign


def _to_utc(value: Any) -> dt.datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in ("now", "today"):
        return dt.datetime.now(dt.UTC)
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _date(value: Any, format_: Any = None) -> Any:
    """LiquidJS's ``date`` on a server in UTC: a date it cannot read passes through unchanged."""
    when = _to_utc(value)
    if when is None or not isinstance(format_, str):
        return value
    return when.strftime(format_.replace("%s", str(int(when.timestamp()))))


def _truncate(value: Any, length: Any = 50, end: Any = "...") -> Any:
    """LiquidJS's ``truncate``: text of at most ``length`` characters passes unchanged (python-liquid
    cuts it at ``length`` already); longer text is cut so that it ends in ``end`` within it."""
    text, tail, limit = js_text(value), js_text(end), _number(length)
    if len(text) <= limit:  # counted in code points, as LiquidJS counts here
        return value
    return text[: max(int(limit) - len(tail), 0)] + tail


def _size(value: Any) -> int:
    if isinstance(value, str):
        return js_length(value)
    return len(value) if isinstance(value, list) else 0  # LiquidJS: `v.length || 0`


def _end(index: int) -> Callable[[Any], Any]:
    """LiquidJS's ``first`` / ``last`` filters: on arrays and text (a code unit), else ""."""

    def end(value: Any) -> Any:
        items = js_units(value) if isinstance(value, str) else value if isinstance(value, list) else None
        if items is None:
            return ""
        return items[index] if items else None

    return end


class _Environment(Environment):
    template_class = JSTemplate
    local_namespace_limit = 1_000_000  # bytes of assigned variables per render
    output_stream_limit = 1_000_000  # characters of output per render

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.add_tag(_JSOutput)
        self.add_tag(_JSEcho)
        operations: dict[str, Callable[..., Any]] = {
            "plus": lambda a, b: a + b,
            "minus": lambda a, b: a - b,
            "times": lambda a, b: a * b,
            "divided_by": _divide,
            "modulo": _modulo,
            "abs": abs,
            "ceil": math.ceil,
            "floor": math.floor,
            "round": _round,
            "at_least": max,
            "at_most": min,
        }
        for name, operation in operations.items():
            self.add_filter(name, _math(operation))
        self.add_filter("date", _date)
        self.add_filter("truncate", _truncate)
        self.add_filter("json", lambda value, *_: "" if is_undefined(value) else js_json(value))
        self.add_filter("size", _size)
        self.add_filter("first", _end(0))
        self.add_filter("last", _end(-1))
        for name in TEXT_FILTERS:
            if name in self.filters:
                self.add_filter(name, js_text_filter(self.filters[name]))


_ENVIRONMENT = _Environment(strict_filters=False)
# LiquidJS reads `items.0` as `items[0]`; python-liquid needs the brackets. Quoted text is kept.
_INDEX = re.compile(r"""("[^"]*"|'[^']*')|(?<=[\w\]])\.(\d+)\b""")  # LiquidJS passes a value through an unknown filter


@directive("@liquid")
def compile_liquid(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, str):
        raise MappingError(f"@liquid takes a template string, not {type(arg).__name__}", pointer)
    if len(arg) > MAX_LENGTH:
        raise MappingError(f"@liquid templates are limited to {MAX_LENGTH:,} characters (this one has {len(arg):,})", pointer)
    try:
        template = _ENVIRONMENT.from_string(_INDEX.sub(lambda m: m.group(1) or f"[{m.group(2)}]", arg))
        tags, filters = set(template.tag_names()), set(template.filter_names())
        use_js_comparisons(template)
    except LiquidError as exc:
        raise MappingError(f"@liquid: {exc.message or exc}", pointer) from None
    for kind, used, disabled in (("tag", tags, DISABLED_TAGS), ("filter", filters, DISABLED_FILTERS)):
        if used & disabled:
            raise MappingError(f"@liquid: {kind} {', '.join(sorted(used & disabled))} is disabled (as in Segment)", pointer)

    def liquid(event: Any) -> str:
        try:
            return template.render(**event) if isinstance(event, dict) else template.render()
        except (LiquidError, ArithmeticError, ValueError, TypeError) as exc:
            raise MappingFailed(f"@liquid could not render ({pointer}): {exc}") from None

    return liquid
