"""Segment's trigger lexer, token for token (fql-ts's rules, odd ones included)."""

from __future__ import annotations

import pytest

from destkit.mappings.fql import LexError, tokens


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('type = "track"', 'ident:type operator:= string:"track"'),
        ("properties.total >= 3.5", "ident:properties.total operator:>= number:3.5"),
        ("a and b or c", "ident:a conditional:and ident:b conditional:or ident:c"),
        ("x != null", "ident:x operator:!= null:null"),
        # words and operators end only at a space, ',', ')', ']' or the end
        ("a and(b)", "ident:a ident:and parenleft:( ident:b parenright:)"),
        ("x <=5", "ident:x operator:< operator:= number:5"),
        ("andrew nullable order", "ident:andrew ident:nullable ident:order"),
        # a digit starts a number, which swallows the dot after it
        ("properties.items.0.sku", "ident:properties.items dot:. number:0. ident:sku"),
        ("properties.items.0", "ident:properties.items dot:. number:0"),
        ("traits.or = 1", "ident:traits dot:. conditional:or operator:= number:1"),
        # strings keep their quotes; a closing quote not followed by a terminator opens the next string
        ("'x'", "string:'x'"),
        ('"a"b"', 'string:"a" string:"b"'),
        # '!' is an operator before a letter or '('; a backslash escapes the next character
        ('!contains(event, "a")', 'operator:! ident:contains parenleft:( ident:event comma:, string:"a" parenright:)'),
        ("properties.first\\ name", "ident:properties.first name"),
        # fql-ts steps back from a partial keyword at the end without giving back what it read
        ("properties.an", "ident:properties.a"),
        ("-1 +2 -.5", "number:-1 number:+2 number:-.5"),
    ],
)
def test_tokens(expression: str, expected: str) -> None:
    found = tokens(expression)
    assert found[-1].kind == "eos"
    assert " ".join(f"{t.kind}:{t.value}" for t in found[:-1]) == expected


@pytest.mark.parametrize(
    ("expression", "column", "words"),
    [
        ("a & b", 3, 'invalid character "&"'),
        ("x>5", 2, "expected termination character after identifier"),
        ('x = "abc', 5, "unterminated string"),
        ('x !="a"', 3, "expected '=' after '!'"),
        ("1.5.3", 4, "multiple decimal points"),
        ("x = 3.", 6, "unexpected terminator after decimal point"),
        ("x\\", 3, "expected character after escape character"),
        ("x = \r", 5, "invalid character"),
    ],
)
def test_what_the_lexer_refuses(expression: str, column: int, words: str) -> None:
    with pytest.raises(LexError, match=words) as caught:
        tokens(expression)
    assert caught.value.column == column


def test_columns_count_from_one() -> None:
    assert [t.column for t in tokens('type = "x"')] == [1, 6, 8, 11]
