"""python-liquid taught to read values as LiquidJS (Segment's engine) reads them.

Three places differ between the engines, and Segment's answers are LiquidJS's:

- Writing a value as text: numbers as JavaScript writes them (``3``, not ``3.0``), an object as
  ``[object Object]``, an array as its items run together, nil and undefined as nothing. Text
  filters (``upcase``, ``url_encode``...) take their input the same way.
- Ordering and ``contains`` (:func:`js_order`, :func:`js_contains`): JavaScript's ``<`` and
  ``>`` (text against text by code unit, anything else as numbers, so ``"5" > 1`` holds and
  ``"abc" > 1`` does not); python-liquid refuses values of different types instead.
- Reading members (:class:`JSContext`): ``.first`` and ``.last`` only on arrays, ``.size`` and
  ``.length`` on arrays, text (in UTF-16 code units) and objects (their keys), ``[0]`` on text
  its first code unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from io import StringIO
from typing import Any, TextIO

from liquid import BoundTemplate, RenderContext
from liquid.ast import Node as LiquidNode
from liquid.builtin.expressions.logical import (
    ContainsExpression,
    GeExpression,
    GtExpression,
    LeExpression,
    LtExpression,
)
from liquid.builtin.expressions.primitive import Blank, Empty, Nil
from liquid.exceptions import OutputStreamLimitError
from liquid.expression import Expression
from liquid.output import LimitedStringIO
from liquid.undefined import is_undefined

from .conditions import js_to_number
from .jstext import js_compare, js_length, js_units
from .jsvalues import MISSING, js_number

__all__ = [
    "js_text",
    "js_order",
    "js_contains",
    "JSContext",
    "JSTemplate",
    "use_js_comparisons",
    "TEXT_FILTERS",
    "js_text_filter",
]

#: python-liquid's filters that read their input as text.
TEXT_FILTERS = (
    "append", "base64_decode", "base64_encode", "base64_url_safe_decode", "base64_url_safe_encode", "capitalize",
    "downcase", "escape", "escape_once", "lstrip", "prepend", "remove", "remove_first", "remove_last", "replace",
    "replace_first", "replace_last", "rstrip", "split", "strip", "strip_html", "strip_newlines", "truncate",
    "truncatewords", "upcase", "url_decode", "url_encode",
)  # fmt: skip


def js_text(value: Any) -> str:
    """How LiquidJS writes a value into the output (its ``stringify``)."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if value is None or value is MISSING or is_undefined(value):
        return ""
    if isinstance(value, (int, float)):
        return js_number(value)
    if isinstance(value, (list, tuple)):
        return "".join(js_text(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def js_text_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """A text filter that reads its input as LiquidJS does."""

    @wraps(function)
    def text_filter(value: Any, *args: Any, **kwargs: Any) -> Any:
        return function(value if isinstance(value, str) else js_text(value), *args, **kwargs)

    return text_filter


def _primitive(value: Any) -> Any:
    """JavaScript's ToPrimitive on a JSON value: arrays and objects become their text."""
    if is_undefined(value) or value is MISSING:
        return MISSING
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None or item is MISSING else str(_primitive(item)) for item in value)
    return value


def _number(value: Any) -> float:
    if value is MISSING:
        return math.nan
    if value is None:
        return 0.0
    return js_to_number(value)


_ORDERS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def js_order(left: Any, right: Any, operator: str) -> bool:
    """JavaScript's ``left operator right`` for ``<``, ``<=``, ``>`` or ``>=``."""
    if type(left) in (int, float) and type(right) in (int, float):  # the common case first
        return _ORDERS[operator](left, right)
    a, b = _primitive(left), _primitive(right)
    if isinstance(a, str) and isinstance(b, str):
        order = js_compare(a, b)
    else:
        x, y = _number(a), _number(b)
        if math.isnan(x) or math.isnan(y):
            return False
        return _ORDERS[operator](x, y)
    return _ORDERS[operator](order, 0)


def js_contains(left: Any, right: Any) -> bool:
    """LiquidJS's ``contains``: an array holding the value, or text holding its text."""
    if isinstance(left, list):
        return any(_strictly_equal(item, right) for item in left)
    if isinstance(left, str):
        return (right if isinstance(right, str) else "undefined" if is_undefined(right) else _js_string(right)) in left
    return False


def _strictly_equal(left: Any, right: Any) -> bool:
    """LiquidJS's ``equals``: JavaScript's ``===``, arrays item by item."""
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_strictly_equal, left, right))
    if isinstance(left, (bool, dict, list)) or isinstance(right, (bool, dict, list)):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right


def _js_string(value: Any) -> str:
    """JavaScript's ``String(value)``, which ``indexOf`` applies to its argument."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number(value)
    return str(_primitive(value))


def _keyword(expression: Expression) -> bool:
    """``nil``, ``empty`` and ``blank``: LiquidJS's drops, which order against nothing."""
    return isinstance(expression, (Nil, Empty, Blank))


def _never(base: type[Expression]) -> type[Expression]:
    """``base`` answering false: an ordering against nil, empty or blank."""

    def evaluate(self: Expression, context: RenderContext) -> bool:
        return False

    return type(f"_Never{base.__name__}", (base,), {"__slots__": (), "evaluate": evaluate})


def _ordering(expression: Any, context: RenderContext, operator: str) -> bool:
    return js_order(expression.left.evaluate(context), expression.right.evaluate(context), operator)


class _JSLt(LtExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> bool:
        return _ordering(self, context, "<")


class _JSLe(LeExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> bool:
        return _ordering(self, context, "<=")


class _JSGt(GtExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> bool:
        return _ordering(self, context, ">")


class _JSGe(GeExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> bool:
        return _ordering(self, context, ">=")


class _JSContains(ContainsExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> bool:
        return js_contains(self.left.evaluate(context), self.right.evaluate(context))


_JS_EXPRESSIONS: dict[type, type] = {
    LtExpression: _JSLt,
    LeExpression: _JSLe,
    GtExpression: _JSGt,
    GeExpression: _JSGe,
    ContainsExpression: _JSContains,
}


_AGAINST_KEYWORDS: dict[type, type] = {base: _never(base) for base in (LtExpression, LeExpression, GtExpression, GeExpression)}


def use_js_comparisons(template: BoundTemplate) -> None:
    """Turn every ordering and ``contains`` in a parsed template into LiquidJS's."""
    context = RenderContext(template)

    def expression(found: Expression) -> None:
        operands = found.children()
        keyword = any(_keyword(operand) for operand in operands)  # decided here, not on every render
        replacement = (_AGAINST_KEYWORDS if keyword else _JS_EXPRESSIONS).get(type(found))
        if replacement is not None:
            found.__class__ = replacement  # the same slots, another evaluate
        for child in operands:
            expression(child)

    def node(found: LiquidNode) -> None:
        for child in found.expressions():
            expression(child)
        for inner in found.children(context, include_partials=False):
            node(inner)

    for top in template.nodes:
        node(top)


class _Output(LimitedStringIO):
    """python-liquid's bounded output, counting a lone UTF-16 half (``"x"[0]`` of an emoji) too."""

    def write(self, text: str) -> int:
        self.size += len(text.encode("utf-8", "surrogatepass"))
        if self.size > self.limit:
            raise OutputStreamLimitError("output stream limit reached", token=None)
        return StringIO.write(self, text)


class JSContext(RenderContext):
    """Reads members as LiquidJS does (see the module's docstring)."""

    def get_item(self, obj: Any, key: Any) -> Any:
        if type(obj) is dict:  # the common case first
            if key == "size" and "size" not in obj:
                return len(obj)
            return obj[str(key) if type(key) is int else key]  # a JavaScript key is always text
        if obj is None:
            return None  # LiquidJS reads any member of nil as nil
        if isinstance(obj, str):
            if key in ("size", "length"):
                return js_length(obj)
            if isinstance(key, int):
                return js_units(obj)[key]  # an IndexError is undefined
            raise KeyError(key)
        if isinstance(obj, list) and key in ("size", "length"):
            return len(obj)
        if isinstance(obj, list) and key in ("first", "last"):
            return obj[0 if key == "first" else -1]
        return super().get_item(obj, key)

    def get_buffer(self, buf: TextIO | None = None) -> StringIO:
        carry = buf.size if isinstance(buf, LimitedStringIO) else 0
        return _Output(limit=(self.env.output_stream_limit or 0) - carry)


class JSTemplate(BoundTemplate):
    """A template rendered with :class:`JSContext`."""

    context_class = JSContext

    def _get_buffer(self) -> StringIO:
        return _Output(limit=self.env.output_stream_limit or 0)
