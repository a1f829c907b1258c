"""Triggers: Segment's subscription language, parsed once into a predicate over the raw event
(written out as one Python expression, see :mod:`.codegen`).

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
from .codegen import Source, literal, path_expression
from .paths import _step, compile_path

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
    """Parses the expression into Python source for one predicate (see :mod:`.codegen`)."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.index = 0
        self.source = Source()

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
        condition = self.or_expr()
        if self.token.kind != "end":
            raise self.fail("unexpected token", "'and', 'or' or the end")
        try:
            return self.source.function("trigger", condition)
        except (SyntaxError, RecursionError, MemoryError):
            raise TriggerSyntaxError("the expression nests too deeply", self.expression, 1) from None

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def unary(self) -> str:
        if self.token.kind == "not":
            self.index += 1
            if self.token.kind == "ident" and self.token.text in ("contains", "match"):
                return self.function(negate=True)
            return f"(not {self.unary()})"
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

    def field(self) -> str:
        """An expression for the field's value (MISSING when absent)."""
        token = self.token
        if token.kind != "ident" or token.text in ("and", "or"):
            raise self.fail("expected a field", _FIELD_HELP)
        self.index += 1
        head, _, rest = token.text.partition(".")
        if head in TOP_FIELDS and not rest:
            return f"event.get({head!r}, M)"
        if head in NESTED_FIELDS and rest:
            if head == "context":
                container = "event.get('context', M)"
            else:  # as in Segment, identify and group calls keep these in traits
                self.source.names["_TRAIT_CALLS"] = _TRAIT_CALLS
                container = "event.get('traits' if event.get('type') in _TRAIT_CALLS else 'properties', M)"
            getter = compile_path(_unescape(rest))
            keys = getattr(getter, "keys", None)
            if keys is not None:
                return path_expression(self.source, container, keys, _step)
            return f"{self.source.bind(getter)}({container})"
        raise self.fail(f"unknown field {token.text!r}", _FIELD_HELP, token, say_found=False)

    def value(self) -> _Token:
        token = self.token
        if token.kind in ("string", "number") or (token.kind == "ident" and token.text in ("true", "false", "null")):
            self.index += 1
            return token
        raise self.fail("expected a value", 'a "string", a number, true, false or null')

    def comparison(self) -> str:
        get = self.field()
        operator = self.take("op", "an operator (=, !=, <, <=, >, >=)").text
        token = self.value()
        return self.compare(get, operator, token)

    def compare(self, get: str, operator: str, token: _Token) -> str:
        value = self.source.temp()
        if token.kind == "ident":  # true, false, null
            if operator not in ("=", "!="):
                raise self.fail(f"{token.text} can only be compared with = or !=", "a number", token)
            if token.text == "null":
                if operator == "=":
                    return f"(({value} := {get}) is M or {value} is None)"
                return f"(({value} := {get}) is not M and {value} is not None)"
            wanted = (token.text == "true") == (operator == "=")
            return f"({get} is {wanted})"  # a real boolean, not 1 or "true"
        if token.kind == "string":
            if operator not in ("=", "!="):
                raise self.fail(f"{operator} compares numbers, not strings", "a number", token)
            return f"({get} {'==' if operator == '=' else '!='} {token.value!r})"  # != is true when missing, as in Segment
        python_operator = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[operator]
        number = literal(self.source, token.value)
        self.source.names["_NUMBER"] = (int, float)
        return f"(isinstance({value} := {get}, _NUMBER) and {value}.__class__ is not bool and {value} {python_operator} {number})"

    def function(self, negate: bool) -> str:
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
        actual = self.source.temp()
        if name == "contains":
            test = f"{text!r} {'not in' if negate else 'in'} {actual}"
        else:
            regex = re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)), re.DOTALL)
            test = f"{self.source.bind(regex)}.fullmatch({actual}) is {'' if negate else 'not '}None"
        # Both need a string: a missing or non-text field is false, negated or not.
        return f"(isinstance({actual} := {get}, str) and {test})"


_FIELD_HELP = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"


def compile_trigger(expression: str) -> Trigger:
    """Compile a trigger expression into ``event -> bool``; raises :class:`TriggerSyntaxError`."""
    if not isinstance(expression, str):
        raise TriggerSyntaxError(f"a trigger is a string, not {type(expression).__name__}", str(expression), 1)
    try:
        return _Parser(expression).parse()
    except RecursionError:
        raise TriggerSyntaxError("the expression nests too deeply", expression, 1) from None
