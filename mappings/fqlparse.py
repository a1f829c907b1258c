"""Segment's trigger parser (destination-subscriptions' ``parseFql``), ported step for step.

It reads the tokens of :mod:`.fql` into conditions and groups exactly as Segment does, odd
corners included: a group takes the last ``and``/``or`` written in it, ``!`` counts only right
before ``contains(``/``match(``, a group in parentheses ends at the first ``)`` (a function's own
included), ``contains()``/``match()`` on ``type`` make no condition, and a function takes the next
five tokens whatever they are. One step differs on purpose: a group's own parentheses inside it
pair up instead of failing (see :func:`group_tokens`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .conditions import js_to_number
from .fql import Token
from .jsvalues import js_string

__all__ = ["TOP_FIELDS", "NESTED_FIELDS", "FUNCTIONS", "Condition", "Group", "field_of", "segment_parse"]

TOP_FIELDS = ("type", "event", "name", "userId")
NESTED_FIELDS = ("properties", "traits", "context")
FUNCTIONS = ("contains", "match")


def field_of(token: Token) -> str:
    """The field a word names (``properties`` for ``properties.plan``), or "" for any other token."""
    return token.value.split(".")[0] if token.kind == "ident" else ""


@dataclass(frozen=True, slots=True)
class Condition:
    """``field operator value`` as Segment's parser makes it (``value`` None for existence and booleans)."""

    field: str  # type, event, name, userId, properties, traits or context
    path: str  # inside properties, traits or context
    operator: str
    value: Any


@dataclass(frozen=True, slots=True)
class Group:
    """Conditions joined by one operator; None stands where Segment made nothing of a slot."""

    operator: str  # and, or
    children: tuple[Condition | Group | None, ...]


def _token_value(token: Token) -> Any:
    """Segment's getTokenValue: a string without its double quotes, a number, true/false, else the text."""
    if token.kind == "string":
        return re.sub(r'"$', "", re.sub(r'^"', "", token.value))
    if token.kind == "number":
        number = js_to_number(token.value)
        return int(number) if number.is_integer() else number
    if token.kind == "ident" and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def _condition(field: str, path: str, operator: Token, value: Token) -> Condition:
    """The condition Segment's parser makes of ``field operator value``."""
    op = operator.value
    special = {
        ("!=", "null"): "exists",
        ("=", "null"): "not_exists",
        ("=", "true"): "is_true",
        ("=", "false"): "is_false",
    }.get((op, value.value))
    nested = field in NESTED_FIELDS
    if special in ("exists", "not_exists") and field not in ("event", "type"):
        return Condition(field, path, special, None)
    if special in ("is_true", "is_false") and (nested or field == "userId"):
        return Condition(field, path, special, None)
    if nested and value.kind == "number" and op in ("=", "!="):
        return Condition(field, path, "number_equals" if op == "=" else "number_not_equals", _token_value(value))
    if nested:
        return Condition(field, path, op, _token_value(value))
    return Condition(field, path, op, js_string(_token_value(value)))


def _function(name: str, queue: deque[Token], negate: bool) -> list[Condition]:
    """Segment's parseFqlFunction: five tokens taken as they come, ``( field , value )``."""

    def take() -> Token:
        return queue.popleft() if queue else Token("eos", "eos", 0)  # JavaScript's shift() gives undefined

    take()
    field = take()
    take()
    value = take()
    take()  # inside a group, the ')' taken here is the group's end (see group_tokens)
    text = js_string(_token_value(value))
    if name == "contains":
        operator = "not_contains" if negate else "contains"
    elif value.value.endswith('*"'):
        operator, text = "not_starts_with" if negate else "starts_with", text[:-1]
    else:
        operator, text = "not_ends_with" if negate else "ends_with", text[1:]
    if field.value in ("event", "name", "userId"):
        return [Condition(field.value, "", operator, text)]
    head = next((head for head in NESTED_FIELDS if field.value.startswith(head)), None)
    if head is None:
        return []  # type: Segment makes no condition of it
    return [Condition(head, re.sub(rf"^{head}\.", "", field.value), operator, text)]


def group_tokens(queue: deque[Token]) -> deque[Token]:
    """The tokens of a parenthesized group: up to the first ')' as in Segment (a function's own
    included), except that destkit pairs a group's parentheses inside it instead of failing."""
    out: deque[Token] = deque()
    depth = 0
    while True:
        token = queue.popleft()
        if token.kind == "parenright":
            if depth == 0:
                break
            depth -= 1
        elif token.kind == "parenleft" and not (out and out[-1].value in FUNCTIONS):
            depth += 1
        out.append(token)
    out.append(Token("eos", "eos", token.column))
    return out


def segment_parse(queue: deque[Token], warn: Callable[[str, Token], None]) -> Condition | Group | None:
    """Segment's parse: conditions in order, joined by the last 'and' or 'or' written at this level."""
    nodes: list[Condition | Group | None] = []
    operator, joiners, first = "and", set(), queue[0]
    while queue and (token := queue.popleft()).kind != "eos":
        head = field_of(token)
        if head in TOP_FIELDS or head in NESTED_FIELDS:
            op, value = queue.popleft(), queue.popleft()
            path = re.sub(rf"^{head}\.", "", token.value)
            nodes.append(_condition(head, path, op, value))
        elif token.kind == "ident" and token.value in FUNCTIONS:
            nodes.extend(_function(token.value, queue, negate=False))
        elif token.kind == "operator" and token.value == "!" and queue[0].value in FUNCTIONS and queue[0].kind == "ident":
            nodes.extend(_function(queue.popleft().value, queue, negate=True))
        elif token.kind == "parenleft":
            nodes.append(segment_parse(group_tokens(queue), warn))
        elif token.kind == "conditional":
            operator = token.value
            joiners.add(operator)
    if len(joiners) == 2:
        warn(
            "'and' and 'or' are mixed without parentheses: Segment joins the whole group with the last one "
            f"written ('{operator}' here), and so does destkit; add parentheses",
            first,
        )
    if len(nodes) > 1:
        return Group(operator, tuple(nodes))
    return nodes[0] if nodes else None
