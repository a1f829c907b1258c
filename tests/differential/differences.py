"""Where destkit deliberately differs from Segment: the one list, each entry with its reason.

The differential test accepts a disagreement only when an entry here recognises its case. Each
entry names a feature of the mapping or trigger (found here independently of destkit's own
code) and says why destkit does not follow Segment there: following it would be unusable (a
crash, an unbounded cost, a silent surprise). The README's "Where destkit differs from Segment"
says the same. Everywhere else destkit follows Segment, odd corners included, and ``destkit
validate`` warns about those corners.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["TRIGGER_DIFFERENCES", "MAPPING_DIFFERENCES", "explain_mapping", "explain_trigger"]


@dataclass(frozen=True)
class Difference:
    name: str
    reason: str
    applies: Callable[..., bool]


def _tokens(expression: str) -> list[tuple[str, int]]:
    """(token, depth of grouping parentheses) pairs, strings kept whole, so features are found
    outside them; a function's own parentheses do not count as grouping ones."""
    out: list[tuple[str, int]] = []
    depth, stack = 0, []
    for match in re.finditer(r'"[^"]*"|\'[^\']*\'|\(|\)|!=|!|[^\s()!,]+|,', expression):
        token = match.group()
        if token == "(":
            grouping = not out or out[-1][0] not in ("contains", "match")
            stack.append(grouping)
            out.append((token if grouping else "call(", depth))
            depth += grouping
            continue
        if token == ")" and stack:
            depth -= stack.pop()
        out.append((token, depth))
    return out


def _nested_parentheses(expression: str) -> bool:
    return any(token == "(" and depth >= 1 for token, depth in _tokens(expression))


_FIELD = re.compile(r"(type|event|name|userId|(properties|traits|context)\.[^\s()!=<>,]+)$")


def _malformed(expression: str) -> bool:
    """Parentheses that do not pair, a condition missing its field or its value, an unknown
    field, or 'and'/'or' glued to a parenthesis (which Segment's lexer reads as a word)."""
    tokens = [token for token, _ in _tokens(expression)]
    if expression.count("(") != expression.count(")") or re.search(r"\b(and|or)\(", expression):
        return True
    for i, token in enumerate(tokens):
        if token in ("=", "!=", "<", "<=", ">", ">="):
            before, after = tokens[i - 1] if i else "", tokens[i + 1] if i + 1 < len(tokens) else ""
            if not _FIELD.match(before) or after in ("", "and", "or", ")"):
                return True
    return False


TRIGGER_DIFFERENCES = [
    Difference(
        "nested parentheses",
        "Segment's parser fails on parentheses inside parentheses, so the subscription never matches; destkit nests them",
        _nested_parentheses,
    ),
    Difference(
        "a malformed trigger",
        "Segment's parser reads whatever tokens come (a missing value becomes the text \"eos\", a misspelt field or a "
        "stray ')' is skipped), so a typo routes events silently; destkit refuses it when the config loads, naming the column",
        _malformed,
    ),
]


def _error(outcome: Any) -> str:
    return str(outcome.get("error", "")) if isinstance(outcome, dict) else ""


def _liquid_checked_up_front(mapping: Any, event: Any, segment: Any, destkit: Any) -> bool:
    error = _error(destkit)
    return "ok" in segment and ("/@liquid: @liquid:" in error or "/@liquid: @liquid templates are limited" in error)


def _refused_option(mapping: Any, event: Any, segment: Any, destkit: Any) -> bool:
    error = _error(destkit)
    return "ok" in segment and error.startswith("/") and any(words in error for words in _OPTION_MISTAKES)


_OPTION_MISTAKES = ("has no option", '@case operator must be "lower" or "upper"')


MAPPING_DIFFERENCES = [
    Difference(
        "@liquid parsed when the mapping compiles",
        "destkit parses every @liquid template once, when the config loads, so a syntax error, a disabled tag or "
        "a template over 1,000 characters fails there, even in a branch no event takes (inside arrays, where "
        "Segment's validator does not look, it fails the events that reach it); Segment parses it each time it "
        "is evaluated",
        _liquid_checked_up_front,
    ),
    Difference(
        "a misspelt option",
        "Segment ignores an option a directive does not have, and a @case operator other than lower or upper "
        "unless the value is text, so a typo changes payloads silently; destkit refuses it when the config loads",
        _refused_option,
    ),
]


def explain_trigger(expression: str, event: Any, segment: Any, destkit: Any) -> str | None:
    """The name of the deliberate difference that accounts for this disagreement, if any."""
    for difference in TRIGGER_DIFFERENCES:
        if difference.applies(expression):
            return difference.name
    return None


def explain_mapping(mapping: Any, event: Any, segment: Any, destkit: Any) -> str | None:
    for difference in MAPPING_DIFFERENCES:
        if difference.applies(mapping, event, segment, destkit):
            return difference.name
    return None
