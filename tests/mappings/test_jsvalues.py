"""Numbers and values rendered as JavaScript renders them."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mappings.jsvalues import MISSING, js_json, js_number, js_string, js_truthy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, "3"),
        (3.0, "3"),
        (19.99, "19.99"),
        (-0.5, "-0.5"),
        (0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e16, "10000000000000000"),
        (1.5e-7, "1.5e-7"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456.789, "123456.789"),
        (2.5e25, "2.5e+25"),
        (float("inf"), "Infinity"),
        (float("nan"), "NaN"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "0"),
        (-3.0, "-3"),
        (1e15, "1000000000000000"),
        (123456789012345.6, "123456789012345.6"),
        (0.0001, "0.0001"),
        (1e-5, "0.00001"),
        (-1e-7, "-1e-7"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_js_number(value: float, expected: str) -> None:
    assert js_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ("x", "x"),
        ([1, None, "a"], "1,,a"),
        ({"a": 1}, "[object Object]"),
        (MISSING, "undefined"),
    ],
)
def test_js_string(value: Any, expected: str) -> None:
    assert js_string(value) == expected


def test_js_json_is_compact_ordered_and_drops_missing() -> None:
    assert js_json({"b": 1.0, "a": [1.5, MISSING], "c": MISSING, "d": "é"}) == '{"b":1,"a":[1.5,null],"d":"é"}'
    assert js_json(MISSING) is MISSING


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        (0.0, False),
        ("", False),
        (None, False),
        (MISSING, False),
        (False, False),
        ("0", True),
        ([], True),
        ({}, True),
        (-1, True),
    ],
)
def test_js_truthy(value: Any, expected: bool) -> None:
    assert js_truthy(value) is expected
