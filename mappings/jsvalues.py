"""Values rendered the way JavaScript renders them, so ported mappings give the same strings.

``String(3.0)`` is ``"3"`` in JavaScript and ``"3.0"`` in Python; ``JSON.stringify`` is compact.
Templates, ``@replace``, ``@json`` and destinations that send strings (Adobe Target) rely on this.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["MISSING", "js_string", "js_number", "js_json", "js_truthy", "js_output"]


class _Missing:
    """A value that is not there (JavaScript's ``undefined``): dropped from objects, unlike None."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def js_number(value: float | int) -> str:
    """``String(n)`` in JavaScript: ``3``, ``19.99``, ``1e+21``, ``1e-7``, ``0.000001``."""
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" not in text and "n" not in text and value != 0:
        # Python's shortest repr without an exponent ("19.99", "-0.5", "1e+16" excluded) is
        # JavaScript's too, but for a whole number's ".0".
        return text[:-2] if text.endswith(".0") else text
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + js_number(-value)
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k, n = len(digits), point
    # ECMAScript Number::toString, with n the position of the decimal point.
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def js_string(value: Any) -> str:
    """``String(value)`` in JavaScript, for JSON values (missing and None give what JS gives)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return js_number(value)
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if isinstance(value, list):
        return ",".join("" if item is None or item is MISSING else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON.stringify writes NaN and Infinity as null
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [None if v is MISSING else _jsonable(v) for v in value]
    return value


def js_json(value: Any) -> Any:
    """``JSON.stringify(value)``: compact, keys in order; MISSING for a missing value."""
    if value is MISSING:
        return MISSING
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def js_output(value: Any) -> Any:
    """A finished payload, as Segment's ``removeUndefined`` leaves it: missing values dropped
    from objects, and null in arrays (where JSON.stringify writes it)."""
    if type(value) is dict:
        return {key: js_output(item) for key, item in value.items() if item is not MISSING}
    if type(value) is list:
        return [None if item is MISSING else js_output(item) for item in value]
    return value


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value: ``0``, ``""``, ``false``, null and missing are falsy."""
    if value is MISSING or value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones
