"""Triggers: Segment's subscription language, parsed once into a predicate over the raw event.

::

    type = "track" and (event = "Order Completed" or properties.total >= 100)
    !contains(context.page.url, "/admin") and match(event, "Checkout *")

Fields: ``type``, ``event``, ``name``, ``userId``, ``properties.*``, ``traits.*``, ``context.*``
(as in Segment, ``properties.*`` and ``traits.*`` both read ``traits`` on identify and group
calls and ``properties`` on the others). Unlike Segment's parser, parentheses nest and ``and``
binds tighter than ``or``. Comparison rules follow Segment's:

- ``=``/``!=`` a string: compares strings only (``1`` never equals ``"1"``); ``!=`` is true
  when the field is missing.
- ``=``/``!=`` a number, ``<`` ``<=`` ``>`` ``>=``: need a number; false when it is not one.
- ``= true``/``= false`` (and ``!=``): need a real boolean.
- ``= null``: the field is missing or null; ``!= null``: it is there.
- ``contains``/``match`` and their ``!`` negations need a string: false when it is not one.
  ``match`` patterns use ``*`` for any run of characters (``"Order*"``, ``"*@example.com"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TriggerSyntaxError
from .jsvalues import MISSING
from .paths import compile_path

__all__ = ["compile_trigger", "Trigger", "TOP_FIELDS", "NESTED_FIELDS"]

Trigger = Callable[[dict[str, Any]], bool]

TOP_FIELDS = ("type", "event", "name", "userId")
NESTED_FIELDS = ("properties", "traits", "context")
_TRAIT_CALLS = frozenset({"identify", "group"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident, string, number, op, lparen, rparen, comma, not, end
    text: str
    column: int
    value: Any = None


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<not>!)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<ident>(?:[A-Za-z0-9_$@\-]|\\.)+(?:\.(?:[A-Za-z0-9_$@\-]|\\.)+)*)
    """,
    re.VERBOSE,
)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _tokenize(expression: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise TriggerSyntaxError(
                f"unexpected character {expression[position]!r}", expression, position + 1, "a field, a value or an operator"
            )
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            value: Any = None
            if kind == "string":
                value = _unescape(text[1:-1])
            elif kind == "number":
                number = float(text)
                value = int(number) if number.is_integer() and "e" not in text.lower() and "." not in text else number
            tokens.append(_Token(kind, text, position + 1, value))
        position = match.end()
    tokens.append(_Token("end", "", len(expression) + 1))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, message: str, expected: str = "", token: _Token | None = None, say_found: bool = True) -> TriggerSyntaxError:
        token = token or self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        text = f"{message}, found {found}" if say_found else message
        return TriggerSyntaxError(text, self.expression, token.column, expected)

    def take(self, kind: str, expected: str) -> _Token:
        token = self.token
        if token.kind != kind:
            raise self.fail("unexpected token", expected)
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        if self.token.kind == "ident" and self.token.text == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Trigger:
        if self.token.kind == "end":
            raise self.fail("empty trigger", 'a condition such as type = "track"')
        predicate = self.or_expr()
        if self.token.kind != "end":
            raise self.fail("unexpected token", "'and', 'or' or the end")
        return predicate

    def or_expr(self) -> Trigger:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return _any(parts)

    def and_expr(self) -> Trigger:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return _all(parts)

    def unary(self) -> Trigger:
        if self.token.kind == "not":
            self.index += 1
            if self.token.kind == "ident" and self.token.text in ("contains", "match"):
                return self.function(negate=True)
            inner = self.unary()
            return lambda event: not inner(event)
        if self.token.kind == "lparen":
            self.index += 1
            inner = self.or_expr()
            self.take("rparen", "')'")
            return inner
        if (
            self.token.kind == "ident"
            and self.token.text in ("contains", "match")
            and self.tokens[self.index + 1].kind == "lparen"
        ):
            return self.function(negate=False)
        return self.comparison()

    def field(self) -> Callable[[dict[str, Any]], Any]:
        token = self.token
        if token.kind != "ident" or token.text in ("and", "or"):
            raise self.fail("expected a field", _FIELD_HELP)
        self.index += 1
        head, _, rest = token.text.partition(".")
        if head in TOP_FIELDS and not rest:
            return _top_getter(head)
        if head in NESTED_FIELDS and rest:
            getter = compile_path(_unescape(rest))
            if head == "context":
                return lambda event: getter(event.get("context", MISSING))

            def properties(event: dict[str, Any]) -> Any:
                container = event.get("traits" if event.get("type") in _TRAIT_CALLS else "properties", MISSING)
                return getter(container)

            return properties
        raise self.fail(f"unknown field {token.text!r}", _FIELD_HELP, token, say_found=False)

    def value(self) -> _Token:
        token = self.token
        if token.kind in ("string", "number") or (token.kind == "ident" and token.text in ("true", "false", "null")):
            self.index += 1
            return token
        raise self.fail("expected a value", 'a "string", a number, true, false or null')

    def comparison(self) -> Trigger:
        get = self.field()
        operator = self.take("op", "an operator (=, !=, <, <=, >, >=)").text
        token = self.value()
        return _compare(get, operator, token, self)

    def function(self, negate: bool) -> Trigger:
        name = self.token.text
        self.index += 1
        self.take("lparen", "'('")
        get = self.field()
        self.take("comma", "','")
        pattern_token = self.token
        if pattern_token.kind != "string":
            raise self.fail(f"{name}() takes a string as its second argument", 'a "string"')
        self.index += 1
        self.take("rparen", "')'")
        text: str = pattern_token.value
        if name == "contains":
            test: Callable[[str], bool] = lambda actual: text in actual  # noqa: E731
        else:
            regex = re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)), re.DOTALL)
            test = lambda actual: regex.fullmatch(actual) is not None  # noqa: E731
        if negate:
            return lambda event: isinstance(actual := get(event), str) and not test(actual)
        return lambda event: isinstance(actual := get(event), str) and test(actual)


_FIELD_HELP = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"


def _top_getter(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda event: event.get(name, MISSING)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(get: Callable[[dict[str, Any]], Any], operator: str, token: _Token, parser: _Parser) -> Trigger:
    if token.kind == "ident":  # true, false, null
        if operator not in ("=", "!="):
            raise parser.fail(f"{token.text} can only be compared with = or !=", "a number", token)
        if token.text == "null":
            if operator == "=":
                return lambda event: (value := get(event)) is MISSING or value is None
            return lambda event: (value := get(event)) is not MISSING and value is not None
        expected_bool = token.text == "true"
        if operator == "=":
            return lambda event: get(event) is expected_bool
        return lambda event: get(event) is (not expected_bool)
    if token.kind == "string":
        if operator not in ("=", "!="):
            raise parser.fail(f"{operator} compares numbers, not strings", "a number", token)
        text = token.value
        if operator == "=":
            return lambda event: get(event) == text
        return lambda event: get(event) != text  # true when missing, as in Segment
    number = token.value
    checks: dict[str, Callable[[Any], bool]] = {
        "=": lambda actual: actual == number,
        "!=": lambda actual: actual != number,
        "<": lambda actual: actual < number,
        "<=": lambda actual: actual <= number,
        ">": lambda actual: actual > number,
        ">=": lambda actual: actual >= number,
    }
    check = checks[operator]
    return lambda event: _is_number(actual := get(event)) and check(actual)


def _all(parts: list[Trigger]) -> Trigger:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda event: a(event) and b(event)
    if len(parts) == 3:
        a, b, c = parts
        return lambda event: a(event) and b(event) and c(event)
    return lambda event: all(part(event) for part in parts)


def _any(parts: list[Trigger]) -> Trigger:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda event: a(event) or b(event)
    return lambda event: any(part(event) for part in parts)


def compile_trigger(expression: str) -> Trigger:
    """Compile a trigger expression into ``event -> bool``; raises :class:`TriggerSyntaxError`."""
    if not isinstance(expression, str):
        raise TriggerSyntaxError(f"a trigger is a string, not {type(expression).__name__}", str(expression), 1)
    return _Parser(expression).parse()
