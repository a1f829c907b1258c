"""Triggers: Segment's subscription language, read as Segment reads it, compiled once into a
predicate over the raw event (written out as one Python expression, see :mod:`.codegen`).

::

    type = "track" and (event = "Order Completed" or properties.total >= 100)
    !contains(context.page.url, "/admin") and match(event, "Checkout *")

A trigger goes through three steps. Segment's lexer (:mod:`.fql`) makes the tokens; destkit checks
their shape (:class:`_Shape`: a field, an operator and a value; ``contains(field, "text")``;
``!``, ``and``, ``or`` and parentheses between them) and refuses what is malformed, naming the
column, where Segment would read something arbitrary; then Segment's own parser (``parseFql``,
ported in :func:`segment_parse`) gives the meaning, odd corners included, each warned about
(:class:`TriggerWarning`): a group takes the last ``and``/``or`` written in it, ``!`` counts only
before ``contains()``/``match()``, a group in parentheses ends at the first ``)``, a function's
own included, single quotes are part of the text, and a path part starting with a digit is read
as a number. One difference is deliberate: parentheses inside parentheses, on which Segment's
parser fails, nest. Conditions evaluate as Segment's evaluator does (:mod:`.conditions`).
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import TriggerSyntaxError, TriggerWarning
from .codegen import Source, path_expression
from .conditions import condition_expression, js_to_number
from .fql import LexError, Token, tokens
from .fqlparse import FUNCTIONS, NESTED_FIELDS, TOP_FIELDS, Condition, Group, field_of, segment_parse
from .paths import js_step

__all__ = ["compile_trigger", "Trigger", "TOP_FIELDS", "NESTED_FIELDS"]

Trigger = Callable[[dict[str, Any]], bool]

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
_FIELD_HELP = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"
_PATH_PART = re.compile(r"[^\[.\]]+")  # how Segment's get() splits a path


# --- destkit's check of the shape ---------------------------------------------------------------


class _Shape:
    """Refuses a malformed trigger, and collects the warnings about how Segment reads it."""

    def __init__(self, expression: str, found: list[Token]) -> None:
        self.expression = expression
        self.tokens = found
        self.index = 0
        self.depth = 0  # of parentheses
        self.warnings: list[TriggerWarning] = []

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def following(self) -> Token:
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def fail(self, message: str, expected: str = "", token: Token | None = None, say_found: bool = True) -> TriggerSyntaxError:
        token = token or self.token
        found = "the end of the expression" if token.kind == "eos" else repr(token.value)
        return TriggerSyntaxError(f"{message}, found {found}" if say_found else message, self.expression, token.column, expected)

    def warn(self, message: str, token: Token) -> None:
        if all(warning.reason != message for warning in self.warnings):  # once per kind of oddity
            self.warnings.append(TriggerWarning(message, self.expression, token.column))

    def take(self, kind: str, expected: str) -> Token:
        token = self.token
        if token.kind != kind:
            raise self.fail("unexpected token", expected)
        self.index += 1
        return token

    def check(self) -> None:
        if self.token.kind == "eos":
            raise self.fail("empty trigger", 'a condition such as type = "track"')
        self.expression_()
        if self.token.kind != "eos":
            raise self.fail("unexpected token", "'and', 'or' or the end")

    def expression_(self) -> None:
        self.unary()
        while self.token.kind == "conditional":
            self.index += 1
            self.unary()
        if self.token.kind == "ident" and self.token.value in ("and", "or"):
            word = self.token.value
            raise self.fail(f"Segment's lexer reads {word!r} as a word unless a space or the end follows it", say_found=False)

    def unary(self) -> None:
        token = self.token
        if token.kind == "operator" and token.value == "!":
            self.index += 1
            if not (self.token.value in FUNCTIONS and self.following().kind == "parenleft"):
                self.warn(
                    "Segment ignores '!' anywhere but right before contains() or match(), and so does destkit: "
                    "this matches as if the '!' were not there",
                    token,
                )
            self.unary()
        elif token.kind == "parenleft":
            self.index += 1
            self.depth += 1
            if self.depth == 2:
                self.warn(
                    "Segment's parser fails on parentheses inside parentheses (its subscription never matches); "
                    "destkit nests them",
                    token,
                )
            self.expression_()
            self.take("parenright", "')'")
            self.depth -= 1
        elif token.kind == "ident" and token.value in FUNCTIONS and self.following().kind == "parenleft":
            self.function()
        else:
            self.condition()

    def field(self, in_function: bool = False) -> Token:
        token = self.token
        if token.kind != "ident":
            raise self.fail("expected a field", _FIELD_HELP)
        head, _, rest = token.value.partition(".")
        if in_function and token.value == "type":
            self.warn("Segment drops contains() and match() on type, and so does destkit: the condition is ignored", token)
        elif head in TOP_FIELDS and rest:
            raise self.fail(f"{head} has no fields of its own ({token.value})", _FIELD_HELP, token, say_found=False)
        elif head in NESTED_FIELDS and not _PATH_PART.findall(rest):
            raise self.fail(f"{token.value} names no field", _FIELD_HELP, token, say_found=False)
        elif head not in TOP_FIELDS and head not in NESTED_FIELDS:
            raise self.fail(f"unknown field {token.value!r}", _FIELD_HELP, token, say_found=False)
        self.index += 1
        while self.token.kind == "dot" and self.following().kind == "number" and head in NESTED_FIELDS:
            self.warn(
                f"Segment's parser reads a path part starting with a digit ({token.value}.{self.following().value}...) "
                "as a number, and so does destkit: such a condition never holds (a contains() or match() tests "
                "the path before it with the number)",
                token,
            )
            self.index += 2
            if self.token.kind == "ident":
                self.not_reread(self.token)
                self.index += 1
        return token

    def not_reread(self, token: Token) -> None:
        """After a digit part, Segment reads on from the next token: a field there starts a new condition."""
        if token.kind == "ident" and (field_of(token) in TOP_FIELDS + NESTED_FIELDS or token.value in FUNCTIONS):
            message = f"after a path part starting with a digit, Segment reads {token.value!r} as a condition of its own"
            raise self.fail(message, token=token, say_found=False)

    def value(self) -> Token:
        token = self.token
        if token.kind == "number" and js_to_number(token.value) != js_to_number(token.value):
            raise self.fail("not a number", "a number such as 3 or -1.5")
        if token.kind not in ("string", "number", "null", "ident"):
            raise self.fail("expected a value", 'a "string", a number, true, false or null')
        self.index += 1
        if token.kind == "string":
            self.single_quotes(token)
        elif token.kind == "ident" and token.value not in ("true", "false"):
            self.warn(f'Segment reads the unquoted word {token.value} as the text "{token.value}", and so does destkit', token)
        return token

    def single_quotes(self, token: Token) -> None:
        if token.value.startswith("'"):
            text = f'{token.value} never equals {token.value[1:-1]}; write "..."'
            self.warn(f"Segment keeps single quotes as part of the text, and so does destkit: {text}", token)

    def condition(self) -> None:
        field = self.field()
        digit_part = self.tokens[self.index - 1] is not field
        operator = self.token
        if operator.kind != "operator" or operator.value not in OPERATORS:
            raise self.fail("unexpected token", "an operator (=, !=, <, <=, >, >=)")
        self.index += 1
        value = self.value()
        if digit_part:
            self.not_reread(value)
        self.odd_condition(field, operator.value, value)

    def odd_condition(self, field: Token, operator: str, value: Token) -> None:
        """Warn where Segment's reading, which destkit follows, is probably not what was meant."""
        clause = f"{field.value} {operator} {value.value}"
        kind = field.value if field.value in TOP_FIELDS else "nested"
        boolean = value.kind == "ident" and value.value in ("true", "false")
        if value.kind == "null" and kind in ("event", "type") and operator in ("=", "!="):
            meant = {
                ("event", "="): 'type != "track" (only track calls carry an event)',
                ("event", "!="): 'type = "track" (only track calls carry an event)',
                ("type", "="): "nothing: every event has a type",
                ("type", "!="): "nothing: every event has a type",
            }[kind, operator]
            truth = "true only for that text" if operator == "=" else "true whenever it is not that text, missing included"
            self.warn(f'{clause} compares {kind} with the text "null", as Segment does ({truth}); probably meant: {meant}', value)
        elif boolean and (operator == "!=" or kind not in ("userId", "nested")):
            self.warn(f'{clause} compares with the text "{value.value}", as Segment does, not with a boolean', value)
        elif operator in ("<", "<=", ">", ">=") and value.kind != "number":
            self.warn(f"{clause} reads {value.value} as a number, as Segment does (JavaScript's Number())", value)

    def function(self) -> None:
        name = self.token
        self.index += 1
        self.take("parenleft", "'('")
        self.field(in_function=True)
        self.take("comma", "','")
        pattern = self.token
        if pattern.kind not in ("string", "number"):
            raise self.fail(f"{name.value}() takes a string as its second argument", 'a "string"')
        self.index += 1
        self.take("parenright", "')'")
        text = pattern.value[1:-1] if pattern.kind == "string" else pattern.value
        self.single_quotes(pattern)
        if (name.value == "match" and not (text.endswith("*") or text.startswith("*"))) or "*" in text[1:-1]:
            self.warn(
                f'match(..., "{text}") tests, as Segment does, a prefix when the pattern ends in * and otherwise '
                "the text after the pattern's first character; * means nothing elsewhere",
                pattern,
            )
        if self.depth and self.token.kind != "parenright":
            self.warn(
                f"Segment's parser ends a parenthesized group at the first ')', this {name.value}()'s own, and so does "
                "destkit: what follows it joins the enclosing group; put it last in its group",
                name,
            )


# --- writing it out -------------------------------------------------------------------------------


def _emit(node: Condition | Group, source: Source) -> str:
    if isinstance(node, Group):
        joiner = f" {node.operator} "
        return "(" + joiner.join(_emit(child, source) for child in node.children if child is not None) + ")"
    if node.field in TOP_FIELDS:
        get = f"event.get({node.field!r}, M)"
    else:
        keys = tuple(_PATH_PART.findall(node.path))
        get = path_expression(source, f"event.get({node.field!r}, M)", keys, js_step) if keys else "M"
    return condition_expression(source, get, node.operator, node.value)


def _empty_slot(node: Condition | Group | None) -> bool:
    if node is None:
        return True
    return isinstance(node, Group) and any(_empty_slot(child) for child in node.children)


def compile_trigger(expression: str) -> Trigger:
    """Compile a trigger expression into ``event -> bool``; raises :class:`TriggerSyntaxError`,
    and warns (:class:`TriggerWarning`) where Segment reads it oddly."""
    if not isinstance(expression, str):
        raise TriggerSyntaxError(f"a trigger is a string, not {type(expression).__name__}", str(expression), 1)
    try:
        found = tokens(expression)
    except LexError as exc:
        raise TriggerSyntaxError(f"{exc} (Segment's lexer refuses it)", expression, max(exc.column, 1)) from None
    shape = _Shape(expression, found)
    try:
        shape.check()
        tree = segment_parse(deque(found), shape.warn)
        if _empty_slot(tree):
            raise TriggerSyntaxError(
                "Segment drops contains() and match() on type, which leaves nothing to test here: its subscription "
                "fails; test event instead",
                expression,
                1,
            )
        assert tree is not None
        source = Source()
        trigger = source.function("trigger", _emit(tree, source))
    except (RecursionError, MemoryError, SyntaxError):  # SyntaxError: Python's, on too deep a text
        raise TriggerSyntaxError("the expression nests too deeply", expression, 1) from None
    for warning in shape.warnings:
        warnings.warn(warning, stacklevel=2)
    return trigger
