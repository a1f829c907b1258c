"""One trigger condition, as Segment's destination-subscriptions evaluates it, written out as Python.

Segment's parser turns ``field operator value`` into one of its operators by the field and the
value written, and its evaluator compares JavaScript's way. The rules, all kept here:

- ``= null`` / ``!= null`` test existence (missing or null / neither) for ``name``, ``userId``,
  ``properties.*``, ``traits.*`` and ``context.*``; for ``event`` and ``type`` they compare
  with the text ``"null"``.
- ``= true`` / ``= false`` need a real boolean for ``userId`` and the nested fields; anywhere
  else (and with ``!=``) true and false are the text ``"true"`` / ``"false"``.
- ``=`` / ``!=`` a number need a number for the nested fields; elsewhere the number is text as
  JavaScript writes it (``3.0`` is ``"3"``).
- Otherwise ``=`` / ``!=`` compare text (``1`` never equals ``"1"``; ``!=`` is true when the
  field is missing), and ``<`` ``<=`` ``>`` ``>=`` need a number on the field's side and read the
  value as JavaScript's ``Number()`` does (``"5"`` is 5, ``true`` 1, ``"abc"`` never compares).
- ``contains`` and ``match`` need a string field. ``match`` tests a prefix when its pattern ends
  in ``*``, else the suffix after the pattern's first character (``"*@example.com"``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .codegen import Source, literal
from .jsvalues import js_string

__all__ = ["js_to_number", "comparison", "text_test"]

EXISTENCE_FIELDS = ("name", "userId", "nested")


_JS_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")


def js_to_number(value: Any) -> float:
    """JavaScript's ``Number(value)`` for what a trigger's value can be: text, a number, a boolean."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text == "":
        return 0.0
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return float(int(text, 16))
    if _JS_NUMBER.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    return math.nan


def _segment_value(field_kind: str, kind: str, text: str, value: Any) -> Any:
    """The value as Segment's parser hands it to the evaluator: for the nested fields the
    string, number or boolean written (null is the text "null"), for the others that as text."""
    raw: Any = value if kind in ("number", "string") else (text == "true") if kind == "bool" else "null"
    return raw if field_kind == "nested" else js_string(raw)


def comparison(source: Source, get: str, field_kind: str, operator: str, kind: str, text: str, value: Any) -> str:
    """A Python expression for ``field operator value``: ``field_kind`` is ``type``, ``event``,
    ``name``, ``userId`` or ``nested``; ``kind`` the value's (string, number, bool or null)."""
    actual = source.temp()
    if kind == "null" and operator in ("=", "!=") and field_kind in EXISTENCE_FIELDS:
        if operator == "=":
            return f"(({actual} := {get}) is M or {actual} is None)"
        return f"(({actual} := {get}) is not M and {actual} is not None)"
    if kind == "bool" and operator == "=" and field_kind in ("userId", "nested"):
        return f"({get} is {text == 'true'})"
    source.names["_NUMBER"] = (int, float)
    is_number = f"(isinstance({actual} := {get}, _NUMBER) and {actual}.__class__ is not bool)"
    if kind == "number" and operator in ("=", "!=") and field_kind == "nested":
        python_operator = "==" if operator == "=" else "!="
        return f"({is_number} and {actual} {python_operator} {literal(source, value)})"
    expected = _segment_value(field_kind, kind, text, value)
    if operator in ("=", "!="):
        equal = f"{get} == {js_string(expected)!r}"  # in Python too, a string equals only a string
        return f"({equal})" if operator == "=" else f"(not ({equal}))"
    number = js_to_number(expected)
    if math.isnan(number):
        return "False"  # nothing is below or above NaN
    return f"({is_number} and {actual} {operator} {literal(source, number)})"


def text_test(source: Source, get: str, function: str, pattern: str, negate: bool) -> str:
    """``contains`` / ``match`` (negated with ``!``): both need a string, negated or not."""
    actual = source.temp()
    if function == "contains":
        test = f"{pattern!r} {'not in' if negate else 'in'} {actual}"
    elif pattern.endswith("*"):
        test = f"{'not ' if negate else ''}{actual}.startswith({pattern[:-1]!r})"
    else:
        test = f"{'not ' if negate else ''}{actual}.endswith({pattern[1:]!r})"
    return f"(isinstance({actual} := {get}, str) and {test})"
