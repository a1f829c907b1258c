"""Text measured in UTF-16 code units, as JavaScript (and so Segment) measures it."""

from __future__ import annotations

import pytest

from destkit.mappings.jstext import JS_INDEX, js_compare, js_length, js_slice, js_units

PARTY = "\U0001f389"  # one character to Python, two code units to JavaScript


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("abc", 3), ("ünï", 3), ("中文", 2), (PARTY, 2), (f"a{PARTY}b{PARTY}", 6), ("\ud83c", 1)],
)
def test_length_counts_code_units(text: str, length: int) -> None:
    assert js_length(text) == length
    assert len(js_units(text)) == length


def test_a_wide_character_splits_into_its_two_halves() -> None:
    assert js_units(f"a{PARTY}") == ["a", "\ud83c", "\udf89"]
    assert "".join(js_units(f"a{PARTY}")).encode("utf-16-le", "surrogatepass").decode("utf-16-le") == f"a{PARTY}"


@pytest.mark.parametrize(
    ("text", "start", "end", "expected"),
    [
        ("abcdef", 1, 3, "bc"),
        ("abcdef", -2, None, "ef"),
        (f"{PARTY}x", 1, None, "\udf89x"),
        (f"{PARTY}x", 0, 2, PARTY),
        (f"x{PARTY}", 0, -1, "x\ud83c"),
    ],
)
def test_slice_cuts_between_code_units(text: str, start: int, end: int | None, expected: str) -> None:
    assert js_slice(text, start, end) == expected


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("a", "b", -1),
        ("b", "a", 1),
        ("a", "a", 0),
        ("ab", "a", 1),
        ("\uffff", PARTY, 1),  # by code unit: 0xFFFF is above the high half 0xD83C
        (PARTY, "\uffff", -1),
    ],
)
def test_compare_orders_by_code_unit(left: str, right: str, order: int) -> None:
    assert js_compare(left, right) == order


@pytest.mark.parametrize(
    ("key", "index"), [("0", True), ("12", True), ("01", False), ("1.0", False), ("-1", False), ("²", False)]
)
def test_index_keys_are_javascript_array_indexes(key: str, index: bool) -> None:
    assert bool(JS_INDEX.match(key)) is index
