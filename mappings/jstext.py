"""Text measured as JavaScript measures it: in UTF-16 code units.

Python counts a character beyond the Basic Multilingual Plane (an emoji, 🎉) as one; JavaScript,
and so Segment, as two halves (surrogates). Wherever Segment counts, indexes, slices or spreads
text (``"🎉".length`` is 2, ``"🎉"[0]`` is a lone half), destkit goes through these functions.
A lone half is kept as Python keeps one (``"\\ud83c"``); JSON writes it as ``\\ud83c``, as
``JSON.stringify`` does. Text within the Basic Multilingual Plane takes a fast path.
"""

from __future__ import annotations

import re

__all__ = ["js_length", "js_units", "js_slice", "js_compare", "JS_INDEX"]

_WIDE = re.compile("[\U00010000-\U0010ffff]")
#: A key JavaScript reads as an array or string index: "0", "12", never "01" or "1.0".
JS_INDEX = re.compile(r"(?:0|[1-9][0-9]*)\Z")


def _narrow(text: str) -> bool:
    return text.isascii() or _WIDE.search(text) is None


def js_length(text: str) -> int:
    """``text.length`` in JavaScript."""
    if text.isascii():
        return len(text)
    return len(text) + len(_WIDE.findall(text))


def js_units(text: str) -> list[str]:
    """The code units of ``text``, each a one-character string (a lone half for a wide character)."""
    if _narrow(text):
        return list(text)
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(data), 2)]


def js_slice(text: str, start: int, end: int | None = None) -> str:
    """``text.slice(start, end)`` in JavaScript (negative positions count from the end)."""
    if _narrow(text):
        return text[start:end]
    data = text.encode("utf-16-le", "surrogatepass")
    count = len(data) // 2
    begin, stop, _ = slice(start, end).indices(count)
    return data[2 * begin : 2 * max(begin, stop)].decode("utf-16-le", "surrogatepass")  # a whole pair is one character again


def js_compare(left: str, right: str) -> int:
    """-1, 0 or 1 as JavaScript orders two texts: by code unit, not by code point."""
    if _narrow(left) and _narrow(right):  # within the plane, code points and code units order alike
        return (left > right) - (left < right)
    a, b = left.encode("utf-16-be", "surrogatepass"), right.encode("utf-16-be", "surrogatepass")
    return (a > b) - (a < b)
