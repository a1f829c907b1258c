"""@liquid reads values as LiquidJS does: orderings, contains, members and text."""

from __future__ import annotations

from typing import Any

import pytest

from destkit import compile_mapping

PARTY = "\U0001f389"  # two UTF-16 code units


def render(template: str, traits: dict[str, Any]) -> Any:
    return compile_mapping({"a": {"@liquid": template}})({"traits": traits})["a"]


@pytest.mark.parametrize(
    ("condition", "traits", "holds"),
    [
        # JavaScript's < and >: text against text by code unit, anything else as numbers
        ("t > 1", {"t": "abc"}, False),
        ("t > 1", {"t": "5"}, True),
        ("t > 1", {"t": {"a": 1}}, False),
        ("t > 1", {"t": ["5"]}, True),
        ("t > -1", {"t": None}, True),  # null is 0
        ("t > -1", {}, False),  # undefined is NaN
        ('t < "b"', {"t": "abc"}, True),
        ("t >= 1", {"t": True}, True),
        ("t > nil", {"t": 3}, False),
        ("t > empty", {"t": "x"}, False),
        ("t <= blank", {"t": "x"}, False),
        # contains: an array holding the value, or text holding its text
        ("t contains 'a'", {"t": 0.5}, False),
        ("t contains 'a'", {"t": {"a": 1}}, False),
        ("t contains 3", {"t": "a3"}, True),
        ("t contains 3", {"t": [3.0, 4]}, True),
        ("t contains '3'", {"t": [3, 4]}, False),
    ],
)
def test_orderings_and_contains_are_javascripts(condition: str, traits: dict[str, Any], holds: bool) -> None:
    assert render(f"{{% if traits.{condition} %}}y{{% else %}}n{{% endif %}}", traits) == ("y" if holds else "n")


@pytest.mark.parametrize(
    ("template", "traits", "expected"),
    [
        ("{{ t.s.first }}|{{ t.s.last }}|{{ t.s.size }}", {"s": f"ab{PARTY}"}, "||4"),
        ("{{ t.o.first }}|{{ t.o.size }}|{{ t.o.a }}", {"o": {"a": 1, "b": 2}}, "|2|1"),
        ("{{ t.a.first }}|{{ t.a.last }}|{{ t.a.size }}", {"a": [1, 2, 3]}, "1|3|3"),
        ("{{ t.s | first }}|{{ t.s | last }}|{{ t.s | size }}", {"s": "xyz"}, "x|z|3"),
        ("{{ t.o | size }}|{{ t.o | first }}", {"o": {"a": 1}}, "0|"),
        ("{{ t.s[0] }}|{{ t.s.length }}|{{ t.n.size }}", {"s": f"{PARTY}x", "n": 5}, "\ud83c|3|"),
    ],
)
def test_members_are_read_as_liquidjs_reads_them(template: str, traits: dict[str, Any], expected: str) -> None:
    assert render(template.replace("t.", "traits.t."), {"t": traits}) == expected


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ("{{ traits.v | upcase }}", {"a": 1}, "[OBJECT OBJECT]"),
        ("{{ traits.v | upcase }}", ["a", "b"], "AB"),
        ("{{ traits.v | append: 'x' }}", 3.0, "3x"),
        ("{{ traits.v | url_encode }}", True, "true"),
        ("{{ traits.v | truncate: 5 }}", "trait", "trait"),
        ("{{ traits.v | truncate: 5 }}", "traits", "tr..."),
        ("{{ traits.v | truncate: 3, '' }}", 12345, "123"),
    ],
)
def test_text_filters_read_their_input_as_liquidjs_writes_it(template: str, value: Any, expected: str) -> None:
    assert render(template, {"v": value}) == expected
