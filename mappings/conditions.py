"""One trigger condition as Segment's evaluator (``validateValue``) decides it, written out as Python.

Segment's parser turns ``field operator value`` into one of these operators, chosen by the field
and the value written (see :mod:`.trigger`), and its evaluator compares JavaScript's way:

- ``=`` / ``!=`` compare with the value as text (``String(value)``): only text can be equal,
  and ``!=`` is true whenever the field is not that text, missing included.
- ``number_equals`` / ``number_not_equals`` (a nested field ``= 3``) and ``<`` ``<=`` ``>`` ``>=``
  need a number in the field and read the value as JavaScript's ``Number()`` does (``"5"`` is 5,
  ``true`` 1, ``"abc"`` never compares).
- ``contains``, ``starts_with``, ``ends_with`` and their negations need text in the field.
- ``exists`` / ``not_exists`` test for a value that is neither missing nor null; ``is_true`` /
  ``is_false`` need a real boolean. Any other operator never holds.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .codegen import Source, literal
from .jsvalues import js_string

__all__ = ["js_to_number", "condition_expression"]

_JS_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")
_JS_RADIX = {"0x": 16, "0o": 8, "0b": 2}


def js_to_number(value: Any) -> float:
    """JavaScript's ``Number(value)`` for what a trigger's value can be: text, a number, a boolean."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text == "":
        return 0.0
    radix = _JS_RADIX.get(text[:2].lower())
    if radix is not None:
        try:
            return float(int(text[2:], radix)) if text[2:].isalnum() else math.nan
        except ValueError:
            return math.nan
    if _JS_NUMBER.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    return math.nan


_TEXT_TESTS = {
    "contains": "{p} in {a}",
    "not_contains": "{p} not in {a}",
    "starts_with": "{a}.startswith({p})",
    "not_starts_with": "not {a}.startswith({p})",
    "ends_with": "{a}.endswith({p})",
    "not_ends_with": "not {a}.endswith({p})",
}
_ORDERINGS = ("<", "<=", ">", ">=")


def condition_expression(source: Source, get: str, operator: str, value: Any) -> str:
    """A Python expression deciding ``operator`` between the field (read by the expression
    ``get``, MISSING when absent) and ``value``, as Segment's evaluator does."""
    actual = source.temp()
    if operator == "exists":
        return f"(({actual} := {get}) is not M and {actual} is not None)"
    if operator == "not_exists":
        return f"(({actual} := {get}) is M or {actual} is None)"
    if operator in ("is_true", "is_false"):
        return f"({get} is {operator == 'is_true'})"
    if operator in ("=", "!="):
        equal = f"{get} == {js_string(value)!r}"  # in Python too, text equals only text
        return f"({equal})" if operator == "=" else f"(not ({equal}))"
    if operator in _TEXT_TESTS:
        test = _TEXT_TESTS[operator].format(p=repr(js_string(value)), a=actual)
        return f"(isinstance({actual} := {get}, str) and {test})"
    source.names["_NUMBER"] = (int, float)
    is_number = f"(isinstance({actual} := {get}, _NUMBER) and {actual}.__class__ is not bool)"
    number = js_to_number(value)
    if operator == "number_equals":
        return f"({is_number} and {actual} == {literal(source, number)})"
    if operator == "number_not_equals":
        return f"({is_number} and {actual} != {literal(source, number)})"
    if operator in _ORDERINGS and not math.isnan(number):
        return f"({is_number} and {actual} {operator} {literal(source, number)})"
    return "False"  # NaN compares with nothing, and Segment's evaluator knows no other operator
