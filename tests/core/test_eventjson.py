"""The one event JSON parser: strict JSON, bounded depth, finite numbers, valid Unicode."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.errors import DestkitError
from destkit.eventjson import MAX_DEPTH, EventJSONError, parse_event_json


def nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b'{"a": 1, "b": [true, null, "x"]}', {"a": 1, "b": [True, None, "x"]}),
        (b'{"emoji": "\\ud83d\\ude00", "e": "caf\xc3\xa9"}', {"emoji": "\U0001f600", "e": "caf\u00e9"}),
        (
            b'{"big": 12345678901234567890123, "f": 1.5e308, "tiny": 1e-999}',
            {"big": 12345678901234567890123, "f": 1.5e308, "tiny": 0.0},
        ),
        (b'{"id": "1e999", "n": "NaN"}', {"id": "1e999", "n": "NaN"}),  # text that only looks like numbers
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, nested(MAX_DEPTH)),
    ],
)
def test_what_is_json_within_the_limits_is_read(data: bytes, value: Any) -> None:
    assert parse_event_json(data) == value


HEX = "(a \\u escape is 4 hex digits, surrogates in pairs)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number (not finite) at line 1 column 7"),
        (b'{"a":\n  -Infinity}', "-Infinity is not a JSON number (not finite) at line 2 column 3"),
        (b'{"a": [1, 2e400]}', "a number too large to be finite (over 1.8e308) at $.a[1]"),
        (b'{"a": -' + b"9" * 400 + b".0}", "a number too large to be finite (over 1.8e308) at $.a"),
        (b'{"u": "\\ud800"}', f"not valid Unicode: unexpected end of hex escape {HEX} at line 1 column 14"),
        (b'{"u": "\\udc00x"}', f"not valid Unicode: lone leading surrogate in hex escape {HEX} at line 1 column 13"),
        (b'{"u": "\xed\xa0\x80"}', "not valid UTF-8 at byte 8"),  # a surrogate encoded as UTF-8 bytes
        (b'{"a": 1} {"b": 2}', "not JSON: trailing characters at line 1 column 10"),
        (b'[{"a":1} {"b":2}]', "not JSON: expected `,` or `]` at line 1 column 10"),
        (b"[,,{}]", "not JSON: expected value at line 1 column 2"),
        (b'{"a": 1,}', "not JSON: trailing comma at line 1 column 9"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels at $" + "[0]" * MAX_DEPTH),
        (b"[" * 100_000, f"nested deeper than {MAX_DEPTH} levels at line 1 column 202"),
        (b"", "not JSON: EOF while parsing a value at line 1 column 0"),
    ],
)
def test_what_is_refused_is_named_with_its_place(data: bytes, message: str) -> None:
    with pytest.raises(EventJSONError) as caught:
        parse_event_json(data)
    assert str(caught.value) == message
    assert isinstance(caught.value, DestkitError) and isinstance(caught.value, ValueError)
