"""The trigger language, operator by operator: Segment's reading and comparison rules, odd corners included."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from destkit import TriggerSyntaxError, TriggerWarning, compile_trigger

TRACK: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "user-1",
    "properties": {
        "total": 120.5,
        "count": 3,
        "coupon": "SAVE10",
        "gift": True,
        "note": None,
        "code": "1",
        "shipping": {"method": "express"},
    },
    "traits": {"plan": "from-traits"},
    "context": {"page": {"url": "https://shop.example.com/checkout"}, "locale": "en-US"},
}
IDENTIFY: dict[str, Any] = {
    "type": "identify",
    "userId": "user-1",
    "traits": {"plan": "pro", "seats": 5},
    "properties": {"plan": "ignored"},
}
PAGE: dict[str, Any] = {"type": "page", "name": "Home", "anonymousId": "a-1", "properties": {}}


@pytest.mark.parametrize(
    ("expression", "event", "expected"),
    [
        # the four top-level fields
        ('type = "track"', TRACK, True),
        ('type = "identify"', TRACK, False),
        ('type != "identify"', TRACK, True),
        ('event = "Order Completed"', TRACK, True),
        ('name = "Home"', PAGE, True),
        ('userId = "user-1"', TRACK, True),
        ("userId = null", PAGE, True),
        ("userId != null", TRACK, True),
        ("userId != null", PAGE, False),
        # = and != with a string compare strings only; != is true when the field is missing
        ('properties.code = "1"', TRACK, True),
        ('properties.count = "3"', TRACK, False),  # a number never equals "3"
        ('properties.count != "3"', TRACK, True),
        ('properties.missing != "x"', TRACK, True),
        ('properties.missing = "x"', TRACK, False),
        ('properties.shipping.method = "express"', TRACK, True),
        # = and != with a number need a number; != is false when the field is missing
        ("properties.count = 3", TRACK, True),
        ("properties.code = 1", TRACK, False),  # "1" is not a number
        ("properties.count != 4", TRACK, True),
        ("properties.missing != 4", TRACK, False),
        ("properties.code != 4", TRACK, False),
        ("properties.total = 120.5", TRACK, True),
        # < <= > >= need numbers
        ("properties.total > 100", TRACK, True),
        ("properties.total >= 120.5", TRACK, True),
        ("properties.total < 120.5", TRACK, False),
        ("properties.count <= 3", TRACK, True),
        ("properties.code > 0", TRACK, False),
        ("properties.gift > 0", TRACK, False),  # a boolean is not a number
        ("properties.missing < 10", TRACK, False),
        ("properties.total > -1", TRACK, True),
        # = true / = false need a real boolean
        ("properties.gift = true", TRACK, True),
        ("properties.gift = false", TRACK, False),
        ("properties.gift != false", TRACK, True),
        ("properties.count = true", TRACK, False),
        ("properties.missing = false", TRACK, False),
        # != true / != false compare with the text "true" / "false", as in Segment
        ("properties.missing != true", TRACK, True),
        ("properties.gift != true", TRACK, True),
        # null: missing or null
        ("properties.note = null", TRACK, True),
        ("properties.missing = null", TRACK, True),
        ("properties.note != null", TRACK, False),
        ("properties.coupon != null", TRACK, True),
        # properties.* and traits.* each read their own object, whatever the event's type
        ('traits.plan = "pro"', IDENTIFY, True),
        ('properties.plan = "pro"', IDENTIFY, False),
        ('properties.plan = "ignored"', IDENTIFY, True),
        ('traits.plan = "from-traits"', TRACK, True),
        ('traits.coupon = "SAVE10"', TRACK, False),
        # event and type compare = null / != null with the text "null"; the others test existence
        ("event = null", PAGE, False),
        ("event != null", PAGE, True),
        ("event = null", {"type": "track", "event": "null"}, True),
        ("type != null", TRACK, True),
        ("name = null", TRACK, True),
        ("context.missing = null", TRACK, True),
        # true and false are text where Segment makes them text; numbers are text for the top fields
        ("name = true", {"type": "page", "name": "true"}, True),
        ("userId = 3", {"type": "page", "userId": "3"}, True),
        ("event = 3.0", {"type": "track", "event": "3"}, True),
        # < <= > >= read the value as JavaScript's Number() does
        ('properties.total > "100"', TRACK, True),
        ("properties.count > true", TRACK, True),
        ('properties.count > "x"', TRACK, False),
        # paths walk as Segment's get does: a falsy value ends the walk and is the result
        ("properties.note.deeper = null", TRACK, True),
        ("properties.coupon.length = 6", TRACK, True),
        ("traits.seats >= 5", IDENTIFY, True),
        # context.*
        ('context.locale = "en-US"', TRACK, True),
        ('contains(context.page.url, "/checkout")', TRACK, True),
        # contains / match and their negations need a string (a negation is false when missing)
        ('contains(event, "Completed")', TRACK, True),
        ('contains(event, "Started")', TRACK, False),
        ('!contains(event, "Started")', TRACK, True),
        ('!contains(properties.missing, "x")', TRACK, False),
        ('contains(properties.count, "3")', TRACK, False),
        ('match(event, "Order*")', TRACK, True),
        ('match(event, "*Completed")', TRACK, True),
        ('match(event, "*Started")', TRACK, False),
        ('!match(event, "*Started")', TRACK, True),
        ('!match(properties.missing, "x*")', TRACK, False),
        ('match(properties.coupon, "SAVE*")', TRACK, True),
        # a pattern not ending in * tests the suffix after its first character, as in Segment
        ('match(event, "XCompleted")', TRACK, True),
        ('match(event, "*der Comp*")', TRACK, False),
        ('match(event, "O.der*")', TRACK, False),
        ("contains(properties.count, 3)", TRACK, False),
        ("contains(event, 3)", {"type": "track", "event": "a3"}, True),
        # and / or / parentheses
        ('type = "track" and event = "Order Completed"', TRACK, True),
        ('type = "track" and event = "Nope"', TRACK, False),
        ('type = "identify" or event = "Order Completed"', TRACK, True),
        ('(type = "identify" or type = "track") and event = "Order Completed"', TRACK, True),
        ('type = "track" and properties.total > 100 and contains(properties.coupon, "10")', TRACK, True),
        ('type = "a" or type = "b" or type = "c" or type = "track"', TRACK, True),
        ('type = "track" and userId != null and properties.count > 1 and properties.gift = true', TRACK, True),
        ('(type = "a" or type = "track") and (event = "b" or properties.count = 3)', TRACK, True),
        # Segment's reading, followed: a group takes the last 'and' or 'or' written in it
        ('type = "identify" or type = "track" and event = "Nope"', TRACK, False),
        ('type = "page" or type = "identify" and traits.plan = "pro"', IDENTIFY, False),
        ('type = "identify" and event = "Nope" or type = "track"', TRACK, True),
        # ... '!' counts only right before contains() or match()
        ('!(type = "identify")', TRACK, False),
        ('!(type = "track" and properties.total > 100)', TRACK, True),
        ('!type = "track"', TRACK, True),
        ('!(contains(event, "Order"))', TRACK, True),
        # ... a group ends at the first ')', a function's own: what follows joins the enclosing group
        ('(contains(event, "Order") or type = "page") and type = "identify"', TRACK, False),
        ('(contains(event, "Nope") and type = "track") or type = "identify"', TRACK, True),
        ('type = "page" or (type = "track" and match(event, "Order*"))', TRACK, True),
        # ... a path part starting with a digit is a number: the condition never holds
        ('properties.items.0.sku = "a"', {"type": "track", "properties": {"items": [{"sku": "a"}]}}, False),
        ('properties.items.0.sku != "a"', {"type": "track", "properties": {"items": [{"sku": "a"}]}}, False),
        ('properties.items.0.sku = "b" or type = "track"', TRACK, True),
        # ... where contains() tests the path before it with the number ("0")
        ('contains(properties.code.0.x, "b")', {"type": "track", "properties": {"code": "a0c"}}, True),
        ('match(properties.code.0, "b*")', {"type": "track", "properties": {"code": "xyz"}}, True),
        # ... contains() and match() on type are dropped
        ('contains(type, "tr") and event = "Order Completed"', PAGE, False),
        ('match(type, "x*") or event = "Order Completed"', TRACK, True),
        # quoting: no escapes in strings, single quotes are part of the text, as in Segment
        ("event = 'Order Completed'", TRACK, False),
        ("event = 'Order Completed'", {"type": "track", "event": "'Order Completed'"}, True),
        ('event = "back\\slash"', {"type": "track", "event": "back\\slash"}, True),
        ("contains(event, 'der')", {"type": "track", "event": "'der'"}, True),
        ("contains(event, 'der')", TRACK, False),
        ("event = Order", {"type": "track", "event": "Order"}, True),  # an unquoted word is text
        # keys with odd characters: a backslash escapes the next one
        ('properties.first\\ name = "Ann"', {"type": "track", "properties": {"first name": "Ann"}}, True),
        ("properties.my-key = 1", {"type": "track", "properties": {"my-key": 1}}, True),
        # text is measured in UTF-16 code units, as in JavaScript
        ("properties.code.length = 2", {"type": "track", "properties": {"code": "\U0001f389"}}, True),
        ("properties.code.length = 0", {"type": "track", "properties": {"code": ""}}, False),  # "" ends the walk
    ],
)
def test_trigger(expression: str, event: dict[str, Any], expected: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TriggerWarning)  # some cases are odd on purpose
        assert compile_trigger(expression)(event) is expected


@pytest.mark.parametrize(
    ("expression", "column", "words"),
    [
        # malformed: Segment reads something arbitrary, destkit refuses it
        ("", 1, "empty trigger"),
        ('type = "track" and', 19, "expected a field"),
        ('type "track"', 6, "unexpected token"),
        ('type = "track" and (event = "A" or', 35, "expected a field"),
        ('(type = "track"', 16, "expected ')'"),
        ('type = "track")', 15, "'and', 'or' or the end"),
        ('plan = "pro"', 1, "unknown field 'plan'"),
        ("properties = 1", 1, "properties names no field"),
        ('type.name = "x"', 1, "type has no fields of its own"),
        ("contains(event, true)", 17, "takes a string as its second argument"),
        ('contains(event "x")', 16, "expected ','"),
        ("type =", 7, "expected a value"),
        ('type = "track" and or', 20, "expected a field"),
        ('type = "track" and(event = "x")', 16, "reads 'and' as a word"),
        ("properties.total > -", 20, "not a number"),
        ('properties.items.0.traits = "x"', 20, "reads 'traits' as a condition of its own"),
        # refused by Segment's lexer too
        ('type = "track" & event = "x"', 16, 'invalid character "&"'),
        ("properties.total>5", 17, "expected termination character after identifier, got >"),
        ('event = "a', 9, "unterminated string"),
        ('event !="a"', 7, "expected '=' after '!'"),
        ("!!contains(event, 'a')", 1, "expected '=' after '!'"),
        # Segment's parser fails when contains() or match() on type leaves a group empty
        ('contains(type, "x")', 1, "leaves nothing to test"),
        ('event = "x" or (match(type, "x*"))', 1, "leaves nothing to test"),
    ],
)
def test_syntax_errors_give_the_column_and_what_was_expected(expression: str, column: int, words: str) -> None:
    with pytest.raises(TriggerSyntaxError) as caught:
        compile_trigger(expression)
    assert caught.value.column == column
    assert words in str(caught.value)


def test_a_syntax_error_points_at_the_spot() -> None:
    with pytest.raises(TriggerSyntaxError) as caught:
        compile_trigger('type = "track" and bogus = 1')
    lines = str(caught.value).splitlines()
    assert lines[1].strip() == 'type = "track" and bogus = 1'
    assert lines[2].index("^") - lines[1].index("t") == 19  # under the b of bogus


def test_a_trigger_is_a_string() -> None:
    with pytest.raises(TriggerSyntaxError, match="a trigger is a string"):
        compile_trigger(3)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::destkit.TriggerWarning")
def test_an_expression_nested_beyond_reason_is_a_syntax_error() -> None:
    with pytest.raises(TriggerSyntaxError, match="nests too deeply"):
        compile_trigger("(" * 2000 + 'type = "track"' + ")" * 2000)


@pytest.mark.parametrize(
    ("expression", "event", "expected"),
    [
        ('((type = "track") and ((properties.total > 100) or (properties.count = 0)))', TRACK, True),
        ('((type = "track") and ((properties.total > 200) or (properties.count = 0)))', TRACK, False),
        ('(type = "page" or (type = "track" and event = "Order Completed"))', TRACK, True),
        ("(" * 100 + 'type = "track"' + ")" * 100 + ' and event = "x"', {"type": "track", "event": "x"}, True),
    ],
)
@pytest.mark.filterwarnings("ignore::destkit.TriggerWarning")
def test_parentheses_inside_parentheses_nest(expression: str, event: dict[str, Any], expected: bool) -> None:
    # The one deliberate difference: Segment's parser fails on them, so its subscription never matches.
    assert compile_trigger(expression)(event) is expected


@pytest.mark.parametrize(
    ("expression", "column", "words"),
    [
        ("event != null", 10, 'probably meant: type = "track"'),
        ("event = null", 9, 'probably meant: type != "track"'),
        ("properties.gift != true", 20, 'compares with the text "true"'),
        ('properties.total > "5"', 20, 'reads "5" as a number'),
        ('match(event, "Order")', 14, "tests, as Segment does, a prefix"),
        ("event = 'x'", 9, "single quotes"),
        ("contains(event, 'x')", 17, "single quotes"),
        ('!(type = "track")', 1, "Segment ignores '!'"),
        ('type = "a" and event = "b" or type = "c"', 1, "mixed without parentheses"),
        ('((type = "a"))', 2, "parentheses inside parentheses"),
        ('(contains(event, "a") or type = "b")', 2, "ends a parenthesized group"),
        ('properties.items.0.sku = "x"', 1, "starting with a digit"),
        ('contains(type, "tr") or event = "x"', 10, "drops contains() and match() on type"),
        ("event = Signup", 9, "unquoted word"),
    ],
)
def test_a_trigger_segment_reads_oddly_warns_with_the_column(expression: str, column: int, words: str) -> None:
    with pytest.warns(TriggerWarning) as caught:
        compile_trigger(expression)
    found = [w.message for w in caught if isinstance(w.message, TriggerWarning)]
    assert any(words in str(message) and message.column == column for message in found), [str(m) for m in found]


@pytest.mark.parametrize(
    "expression", ['type = "track" and event = "Order Completed"', "context.personas = null", "userId != null"]
)
def test_a_plain_trigger_warns_about_nothing(expression: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TriggerWarning)
        compile_trigger(expression)
