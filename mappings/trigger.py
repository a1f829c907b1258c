"""Triggers: Segment's subscription language, parsed once into a predicate over the raw event
(written out as one Python expression, see :mod:`.codegen`).

::

    type = "track" and (event = "Order Completed" or properties.total >= 100)
    !contains(context.page.url, "/admin") and match(event, "Checkout *")

Fields: ``type``, ``event``, ``name``, ``userId``, ``properties.*``, ``traits.*``, ``context.*``
(each nested field reads its own object, whatever the event's type). Conditions evaluate as
Segment's evaluator does (:mod:`.conditions` has the rules). Where Segment's parser breaks,
destkit reads the expression the way it is written instead, and warns (:class:`TriggerWarning`):
parentheses nest and ``and`` binds tighter than ``or``, ``!`` negates whatever follows it, and
'single-quoted' strings are strings. Strings have no escapes, as in Segment; a backslash in a
field name escapes the next character (``properties.first\\ name``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TriggerSyntaxError, TriggerWarning
from .codegen import Source, path_expression
from .conditions import comparison, text_test
from .jsvalues import js_number
from .paths import js_step

__all__ = ["compile_trigger", "Trigger", "TOP_FIELDS", "NESTED_FIELDS"]

Trigger = Callable[[dict[str, Any]], bool]

TOP_FIELDS = ("type", "event", "name", "userId")
NESTED_FIELDS = ("properties", "traits", "context")
_FUNCTION_FIELDS = "event, name, userId, properties.<name>, traits.<name> or context.<name>"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident, string, number, op, lparen, rparen, comma, not, end
    text: str
    column: int
    value: Any = None


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"[^"]*"|'[^']*')
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
                value = text[1:-1]  # no escapes, as in Segment
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
        self.depth = 0  # of parentheses
        self.warnings: list[TriggerWarning] = []

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, message: str, expected: str = "", token: _Token | None = None, say_found: bool = True) -> TriggerSyntaxError:
        token = token or self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        text = f"{message}, found {found}" if say_found else message
        return TriggerSyntaxError(text, self.expression, token.column, expected)

    def warn(self, message: str, token: _Token) -> None:
        if all(warning.reason != message for warning in self.warnings):  # once per kind of oddity
            self.warnings.append(TriggerWarning(message, self.expression, token.column))

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
        first = self.token
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        if len(parts) > 1 and any(" and " in part for part in parts) and self.mixed(first):
            self.warn(
                "'and' and 'or' are mixed without parentheses: destkit binds 'and' tighter, while Segment "
                "combines the whole group with the last one written; add parentheses",
                first,
            )
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def mixed(self, first: _Token) -> bool:
        """Whether 'and' and 'or' both join conditions at this level (not inside parentheses)."""
        level, words = 0, set()
        for token in self.tokens[self.tokens.index(first) : self.index]:
            level += (token.kind == "lparen") - (token.kind == "rparen")
            if level == 0 and token.kind == "ident" and token.text in ("and", "or"):
                words.add(token.text)
        return len(words) == 2

    def and_expr(self) -> str:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def unary(self) -> str:
        token = self.token
        if token.kind == "not":
            self.index += 1
            if self.token.kind == "ident" and self.token.text in ("contains", "match"):
                return self.function(negate=True)
            self.warn("Segment ignores '!' anywhere but before contains() or match(); destkit negates what follows", token)
            return f"(not {self.unary()})"
        if token.kind == "lparen":
            self.index += 1
            self.depth += 1
            if self.depth == 2:
                self.warn("Segment's parser fails on parentheses inside parentheses (its subscription never matches)", token)
            inner = self.or_expr()
            self.take("rparen", "')'")
            self.depth -= 1
            return inner
        if token.kind == "ident" and token.text in ("contains", "match") and self.tokens[self.index + 1].kind == "lparen":
            return self.function(negate=False)
        return self.comparison()

    def field(self) -> tuple[str, str]:
        """An expression for the field's value (MISSING when absent), and the field's kind."""
        token = self.token
        if token.kind != "ident" or token.text in ("and", "or"):
            raise self.fail("expected a field", _FIELD_HELP)
        self.index += 1
        head, _, rest = token.text.partition(".")
        if head in TOP_FIELDS and not rest:
            return f"event.get({head!r}, M)", head
        if head in NESTED_FIELDS and rest:
            # Each reads its own object, as in Segment, and walks the path as Segment's get does.
            keys = tuple(re.findall(r"[^.\[\]]+", _unescape(rest)))
            if not keys:
                raise self.fail(f"{head}.{rest} names no field", _FIELD_HELP, token, say_found=False)
            if any(part[:1].isdigit() for part in rest.split(".")):
                self.warn(
                    f"Segment's parser reads a path part starting with a digit in {token.text} as a number: "
                    "there the condition never holds",
                    token,
                )
            return path_expression(self.source, f"event.get({head!r}, M)", keys, js_step), "nested"
        raise self.fail(f"unknown field {token.text!r}", _FIELD_HELP, token, say_found=False)

    def value(self) -> _Token:
        token = self.token
        if token.kind in ("string", "number") or (token.kind == "ident" and token.text in ("true", "false", "null")):
            self.index += 1
            if token.kind == "string" and token.text.startswith("'"):
                self.warn("Segment keeps single quotes as part of the text; destkit reads 'x' as x. Write \"x\"", token)
            return token
        raise self.fail("expected a value", 'a "string", a number, true, false or null')

    def comparison(self) -> str:
        field_token = self.token
        get, field_kind = self.field()
        operator = self.take("op", "an operator (=, !=, <, <=, >, >=)").text
        token = self.value()
        kind = token.kind if token.kind != "ident" else ("null" if token.text == "null" else "bool")
        self.check(field_token, field_kind, operator, kind, token)
        text = token.value if kind == "string" else token.text
        return comparison(self.source, get, field_kind, operator, kind, text, token.value)

    def check(self, field_token: _Token, field_kind: str, operator: str, kind: str, token: _Token) -> None:
        """Warn where Segment's reading, which destkit follows, is probably not what was meant."""
        clause = f"{field_token.text} {operator} {token.text}"
        if kind == "null" and field_kind in ("event", "type") and operator in ("=", "!="):
            meant = {
                ("event", "="): 'type != "track" (only track calls carry an event)',
                ("event", "!="): 'type = "track" (only track calls carry an event)',
                ("type", "="): "nothing: every event has a type",
                ("type", "!="): "nothing: every event has a type",
            }[field_kind, operator]
            truth = "true only for that text" if operator == "=" else "true whenever it is not that text, missing included"
            self.warn(
                f'{clause} compares {field_kind} with the text "null", as Segment does ({truth}); probably meant: {meant}', token
            )
        elif kind == "bool" and (operator == "!=" or field_kind not in ("userId", "nested")):
            self.warn(f'{clause} compares with the text "{token.text}", as Segment does, not with a boolean', token)
        elif operator in ("<", "<=", ">", ">=") and kind != "number":
            self.warn(f"{clause} reads {token.text} as a number, as Segment does (JavaScript's Number())", token)

    def function(self, negate: bool) -> str:
        name_token = self.token
        name = name_token.text
        self.index += 1
        self.take("lparen", "'('")
        if self.token.kind == "ident" and self.token.text == "type":
            raise self.fail(f"{name}() cannot read type (Segment drops such a condition)", _FUNCTION_FIELDS)
        get, _ = self.field()
        self.take("comma", "','")
        pattern_token = self.token
        if pattern_token.kind not in ("string", "number"):
            raise self.fail(f"{name}() takes a string as its second argument", 'a "string"')
        self.index += 1
        self.take("rparen", "')'")
        text: str = pattern_token.value if pattern_token.kind == "string" else js_number(pattern_token.value)
        if (name == "match" and not (text.endswith("*") or text.startswith("*"))) or "*" in text[1:-1]:
            self.warn(
                f'match(..., "{text}") tests, as Segment does, a prefix when the pattern ends in * and otherwise '
                "the text after the pattern's first character; * means nothing elsewhere",
                pattern_token,
            )
        if self.depth and self.token.kind != "rparen":
            self.warn(
                f"Segment's parser ends a parenthesized group at the first ')', this {name}()'s: put it last in its group",
                name_token,
            )
        return text_test(self.source, get, name, text, negate)


_FIELD_HELP = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"


def compile_trigger(expression: str) -> Trigger:
    """Compile a trigger expression into ``event -> bool``; raises :class:`TriggerSyntaxError`,
    and warns (:class:`TriggerWarning`) where Segment reads it differently or oddly."""
    if not isinstance(expression, str):
        raise TriggerSyntaxError(f"a trigger is a string, not {type(expression).__name__}", str(expression), 1)
    parser = _Parser(expression)
    try:
        trigger = parser.parse()
    except RecursionError:
        raise TriggerSyntaxError("the expression nests too deeply", expression, 1) from None
    for warning in parser.warnings:
        warnings.warn(warning, stacklevel=2)
    return trigger
