"""Segment's trigger lexer (``@segment/fql-ts``), token for token, and its dot-joining step.

Triggers are read from the same tokens Segment's parser reads, so its odd corners carry over:
``and``, ``or``, ``null``, ``!=``, ``<=`` and ``>=`` are words only when a space, ``,``, ``)``, ``]``
or the end follows them; a closing quote not followed by one of those starts a new string;
a digit starts a number, so ``properties.items.0.sku`` is the field ``properties.items``, a dot,
the number ``0.`` and the word ``sku``; a backslash in a word escapes the next character. What
fql-ts refuses (a character it does not know, an unterminated string, ``x>5``) is a
:class:`LexError` naming the column.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Token", "LexError", "tokens"]

_END = ""  # what the reader gives past the end (fql-ts's EOS flag)
_LIMIT = 100_000  # fql-ts's bound on one word, number or string
_TERMINATORS = frozenset(" \t\n,])")
_AFTER_WORD = frozenset(" \t\n,]).(=!")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is fql-ts's (ident, dot, operator, conditional, string, number, null,
    brackleft, brackright, parenleft, parenright, comma, eos); ``value`` its text as fql-ts keeps
    it (strings with their quotes); ``column`` where it starts, from 1."""

    kind: str
    value: str
    column: int


class LexError(ValueError):
    """fql-ts refuses the text; ``column`` (from 1) is where it stopped."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def _alpha(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _digit(char: str) -> bool:
    return char in "0123456789" and char != _END


def _word_char(char: str) -> bool:
    return _alpha(char) or _digit(char) or (char in ("_", "-", "\\") and char != _END)


def _terminator(char: str) -> bool:
    return char == _END or char in _TERMINATORS


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def next(self) -> str:
        if self.position == len(self.text):
            return _END
        char = self.text[self.position]
        self.position += 1
        return char

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else _END

    def accept(self, expected: str) -> bool:
        """Take ``expected`` when the text continues with it and then ends a word, as fql-ts does."""
        start = self.position
        taken = ""
        for _ in expected:
            char = self.next()
            if char == _END:
                return False  # fql-ts does not step back here; nothing follows anyway
            taken += char
            if _terminator(char):
                break
        if taken == expected and _terminator(self.peek()):
            return True
        self.position = start
        return False

    def fail(self, message: str, column: int | None = None) -> LexError:
        return LexError(message, self.position + 1 if column is None else column)  # by default, the next character

    def run(self) -> list[Token]:
        out: list[Token] = []
        while True:
            column = self.position + 1
            char = self.next()
            if char == _END:
                out.append(Token("eos", "eos", column))
                return out
            if char in " \t\n":
                continue
            if char == "!" and (_alpha(self.peek()) or self.peek() == "("):
                out.append(Token("operator", "!", column))
            elif _alpha(char) or char in "!=<>\\_":
                out.append(self.word_or_operator(char, column))
            elif _digit(char) or char in "-+":
                out.append(self.number(char, column))
            elif char in "\"'":
                out.append(self.string(char, column))
            else:
                kind = {".": "dot", "[": "brackleft", "]": "brackright", ",": "comma", "(": "parenleft", ")": "parenright"}
                if char not in kind:
                    raise self.fail(f'invalid character "{char}"', column)
                out.append(Token(kind[char], char, column))

    def string(self, quote: str, column: int) -> Token:
        text = ""
        while self.peek() != quote:
            char = self.next()
            if char == _END:
                raise self.fail("unterminated string", column)
            text += char
            if len(text) >= _LIMIT:
                raise self.fail("unreasonable string length")
        self.accept(quote)  # eaten only when a terminator follows; else it opens the next string
        return Token("string", f"{quote}{text}{quote}", column)

    def number(self, first: str, column: int) -> Token:
        text = first
        decimal = False
        while _digit(self.peek()) or self.peek() == ".":
            char = self.next()
            text += char
            if char == ".":
                if _terminator(self.peek()):
                    raise self.fail("unexpected terminator after decimal point", self.position)
                if decimal:
                    raise self.fail("multiple decimal points in one number", self.position)
                decimal = True
            if len(text) > _LIMIT:
                raise self.fail("unreasonable number length")
        return Token("number", text, column)

    def word_or_operator(self, first: str, column: int) -> Token:
        if first == "=":
            return Token("operator", "=", column)
        if first == "!":
            if self.accept("="):
                return Token("operator", "!=", column)
            raise self.fail(f"expected '=' after '!', got '{self.peek() or 'the end'}'", column)
        if first in "<>":
            return Token("operator", first + "=" if self.accept("=") else first, column)
        words = {"a": ("nd", "conditional", "and"), "o": ("r", "conditional", "or"), "n": ("ull", "null", "null")}
        if first in words:
            rest, kind, value = words[first]
            if self.accept(rest):
                return Token(kind, value, column)
        return self.word(first, column)

    def word(self, first: str, column: int) -> Token:
        text = ""
        char = first
        while True:
            if char == "\\":  # escapes any character but the end
                if self.peek() == _END:
                    raise self.fail("expected character after escape character, got the end")
                char = self.next()
            text += char
            if len(text) >= _LIMIT:
                raise self.fail("unreasonable literal length")
            if not _word_char(self.peek()):
                break
            char = self.next()
        if self.peek() != _END and self.peek() not in _AFTER_WORD:
            raise self.fail(f"expected termination character after identifier, got {self.peek()}")
        return Token("ident", text, column)


def _join_dots(found: list[Token]) -> list[Token]:
    """fql-ts's normalize step: ``word . word`` becomes one word (``properties.plan``)."""
    out: list[Token] = []
    index = 0
    while index < len(found):
        current = found[index]
        following = found[index + 1] if index + 1 < len(found) else None
        if out and out[-1].kind == "ident" and current.kind == "dot" and following is not None and following.kind == "ident":
            previous = out.pop()
            out.append(Token("ident", f"{previous.value}.{following.value}", previous.column))
            index += 2
        else:
            out.append(current)
            index += 1
    return out


def tokens(expression: str) -> list[Token]:
    """The tokens Segment's parser reads from ``expression``, ending with an ``eos`` token."""
    return _join_dots(_Lexer(expression).run())
