"""Generated mapping and trigger cases for the differential test against Segment's packages.

Seeded and wide: every mapping-kit directive and every subscription operator, nested, over
events of the Segment spec's six types carrying awkward values (empty strings, zero, false,
null, unicode, ``& = + ' "``). Mappings and triggers are drawn the way operators write them in
Segment (its UI writes triggers as ``generateFql`` does), with a share of hand-written forms
besides. Everything is plain JSON, so both sides read the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["mapping_cases", "trigger_cases", "events"]

AWKWARD: list[Any] = [
    "",
    0,
    0.5,
    -1,
    3.0,
    19.99,
    1e21,
    False,
    True,
    None,
    "pro",
    "Pro Plan",
    "o'neil",
    'say "hi"',
    "a&b=c+d",
    "ünïcødé 中文 🎉",
    "  padded  ",
    "null",
    "true",
    "3",
    "2024-03-05T10:00:00.000Z",
    "<b>bold</b>",
    "back\\slash",
    ["a", "b"],
    [1, None, "x"],
    [],
    {},
    {"city": "Paris", "zip": None, "geo": {"lat": 48.8, "note": None}},
]
WORDS = ["plan", "email", "total", "name", "city", "tags", "score", "vip", "note", "zip", "sku", "price"]
TYPES = ["identify", "track", "page", "screen", "group", "alias"]
EVENT_NAMES = ["Order Completed", "Product Viewed", "Signed Up", "null", "", "Ünïcødé Évent", "a&b=c"]


def _value(rng: random.Random) -> Any:
    return rng.choice(AWKWARD)


def _bag(rng: random.Random) -> dict[str, Any]:
    """A traits or properties object: the usual names with awkward values, sometimes nested."""
    bag = {word: _value(rng) for word in rng.sample(WORDS, rng.randint(2, 7))}
    if rng.random() < 0.5:
        bag["address"] = {"city": _value(rng), "street": {"line1": _value(rng), "zip": _value(rng)}}
    if rng.random() < 0.4:
        bag["products"] = [{"sku": _value(rng), "price": _value(rng)} for _ in range(rng.randint(0, 3))]
    return bag


def _event(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(TYPES)
    event: dict[str, Any] = {"type": kind, "messageId": f"m-{rng.randint(0, 10**6)}", "timestamp": "2026-03-05T10:00:00.000Z"}
    if rng.random() < 0.8:
        event["userId"] = rng.choice(["user-1", "", "o'neil@example.com", "ü-2", "null"])
    if rng.random() < 0.7 or "userId" not in event:
        event["anonymousId"] = rng.choice(["anon-1", "a&b=c", "anon 2"])
    if kind == "track":
        event["event"] = rng.choice(EVENT_NAMES)
        event["properties"] = _bag(rng)
    elif kind in ("page", "screen"):
        if rng.random() < 0.8:
            event["name"] = rng.choice(["Home", "", "Pricing", "null", "Ça va"])
        event["properties"] = _bag(rng)
    elif kind in ("identify", "group"):
        event["traits"] = _bag(rng)
        if kind == "group":
            event["groupId"] = rng.choice(["g-1", "", "g&2"])
    else:
        event["previousId"] = "old-1"
    # Both objects turn up on events of other types too (a track sent with traits, say).
    if rng.random() < 0.3:
        event["traits" if "properties" in event else "properties"] = _bag(rng)
    if rng.random() < 0.6:
        event["context"] = {
            "ip": "203.0.113.9",
            "locale": rng.choice(["en-US", "fr-FR", "", None]),
            "traits": _bag(rng),
            "page": {"url": rng.choice(["https://shop.example.com/checkout?a=1&b=2", "", "/admin"])},
        }
        if rng.random() < 0.3:
            event["context"]["personas"] = {"computation_class": rng.choice(["audience", "trait"]), "space_id": "s1"}
    return event


def events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [_event(rng) for _ in range(count)]


# --- mappings -----------------------------------------------------------------------------------

PATHS = [
    "$.userId",
    "userId",
    "$.anonymousId",
    "$.event",
    "$.name",
    "$.type",
    "$.",
    "$.nope",
    "$.traits",
    "$.properties",
    "$.context.traits.email",
    "$.context.page.url",
    "$.context.personas.computation_class",
]


def _path(rng: random.Random) -> str:
    if rng.random() < 0.35:
        return rng.choice(PATHS)
    top = rng.choice(["traits", "properties", "context.traits"])
    word = rng.choice([*WORDS, "address", "products", "missing"])
    tail = rng.choice(["", "", "", ".city", ".street.zip", ".first", "[0].sku", ".1.price", ".0"])
    return f"{rng.choice(['$.', '$.', ''])}{top}.{word}{tail}"


def _template(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(1, 3)):
        path = _path(rng).removeprefix("$.").removeprefix("$")
        open_, close = ("{{{", "}}}") if rng.random() < 0.25 else ("{{", "}}")
        space = rng.choice(["", " "])
        pieces.append(rng.choice(["", "Hi ", "id=", " & ", "'"]) + f"{open_}{space}{path}{space}{close}")
    return "".join(pieces) + rng.choice(["", "!", " = ok"])


LIQUID_FILTERS = [
    "upcase",
    "downcase",
    "capitalize",
    "strip",
    "size",
    "escape",
    "url_encode",
    "plus: 1",
    "minus: 0.5",
    "times: 3",
    "divided_by: 2",
    "modulo: 3",
    "round",
    "round: 1",
    "abs",
    "ceil",
    "floor",
    "at_least: 1",
    "at_most: 10",
    'default: "none"',
    'append: "&x=1"',
    'prepend: "id-"',
    'replace: "a", "b"',
    'remove: " "',
    "truncate: 5",
    'split: "," | join: "-"',
    "first",
    "last",
    'date: "%Y-%m-%d"',
    'date: "%b %e, %Y %H:%M"',
    "json",
    "slice: 0, 3",
    "sort",
    "reverse",
    "uniq",
    "map: 'sku'",
    "newline_to_br",
    "base64_encode",
]
LIQUID_VALUES = ["{{v}}", "{{ v | f }}", "{% if v %}yes{% else %}no{% endif %}"]


def _liquid(rng: random.Random) -> str:
    def var() -> str:
        return _path(rng).removeprefix("$.").removeprefix("$") or "userId"

    forms: list[Callable[[], str]] = [
        lambda: f"{{{{ {var()} }}}}",
        lambda: f"{{{{ {var()} | {rng.choice(LIQUID_FILTERS)} }}}}",
        lambda: f"{{{{ {var()} | {rng.choice(LIQUID_FILTERS)} | {rng.choice(LIQUID_FILTERS)} }}}}",
        lambda: f"{{% if {var()} %}}yes{{% else %}}no{{% endif %}}",
        lambda: f'{{% if {var()} == "pro" %}}P{{% elsif {var()} > 1 %}}N{{% endif %}}',
        lambda: f"{{% unless {var()} %}}none{{% endunless %}}",
        lambda: f"{{% assign x = {var()} | {rng.choice(LIQUID_FILTERS)} %}}[{{{{ x }}}}]",
        lambda: f"{{% capture c %}}{{{{ {var()} }}}}-{{{{ {var()} }}}}{{% endcapture %}}{{{{ c | upcase }}}}",
        lambda: f"a {{%- if {var()} -%}} b {{%- endif -%}} c",
        lambda: f"{{% if {var()} contains 'a' %}}has a{{% endif %}}",
        lambda: f"{{% for i in {var()} %}}{{{{ i }}}}{{% endfor %}}",
        lambda: f"{{% case {var()} %}}{{% when 'pro' %}}P{{% endcase %}}",
        lambda: "{% raw %}{{ not rendered }}{% endraw %}",
        lambda: f"{{{{ {var()} }}",
        lambda: "x" * rng.choice([10, 999, 1000, 1001]),
        lambda: f"{{{{ {var()} | nosuchfilter }}}}",
    ]
    return rng.choice(forms)()


def _mapping_value(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice([{"@path": _path(rng)}, {"@path": _path(rng)}, _value(rng), {"@template": _template(rng)}])
    deeper = depth - 1

    def sub() -> Any:
        return _mapping_value(rng, deeper)

    def maybe(options: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in options.items() if value is not _SKIP}

    choices: list[Callable[[], Any]] = [
        lambda: {"@path": _path(rng)},
        lambda: {"@template": _template(rng)},
        lambda: {"@literal": rng.choice([_value(rng), sub()])},
        lambda: {
            "@if": maybe(
                {
                    rng.choice(["exists", "exists", "blank"]): sub(),
                    "then": rng.choice([sub(), _SKIP]),
                    "else": rng.choice([sub(), _value(rng), _SKIP]),
                }
            )
        },
        lambda: {"@case": {"operator": rng.choice(["lower", "upper"]), "value": sub()}},
        lambda: {
            "@replace": maybe(
                {
                    "pattern": rng.choice(["a", " ", "&", "o'", ".", "-", "x", "é"]),
                    "replacement": rng.choice(["", "_", "$&", "A", _SKIP]),
                    "pattern2": rng.choice(["b", _SKIP, _SKIP]),
                    "replacement2": rng.choice(["B", _SKIP]),
                    "ignorecase": rng.choice([True, False, _SKIP]),
                    "global": rng.choice([True, False, _SKIP]),
                    "value": sub(),
                }
            )
        },
        lambda: {
            "@arrayPath": [
                rng.choice(["$.properties.products", "$.traits.tags", "$.nope", _path(rng)]),
                rng.choice(
                    [
                        {"id": {"@path": "$.sku"}, "cost": {"@path": "$.price"}},
                        {"sku": {"@template": "{{sku}}-{{price}}"}},
                        {},
                    ]
                ),
            ]
        },
        lambda: {"@json": {"mode": rng.choice(["encode", "decode"]), "value": sub()}},
        lambda: {
            "@flatten": maybe(
                {"separator": rng.choice([".", "_", "/"]), "omitArrays": rng.choice([True, False, _SKIP]), "value": sub()}
            )
        },
        lambda: {
            "@merge": {
                "direction": rng.choice(["left", "right"]),
                "objects": [rng.choice([sub(), {"@path": _path(rng)}, {"k": sub()}]) for _ in range(rng.randint(1, 3))],
            }
        },
        lambda: {
            "@transform": {
                "apply": {"who": {"@path": _path(rng)}, "plan": sub()},
                "mapping": rng.choice([{"out": {"@path": "$.who"}}, {"@template": "{{who}}/{{plan}}"}]),
            }
        },
        lambda: {"@excludeWhenNull": sub()},
        lambda: {"@liquid": _liquid(rng)},
        lambda: {word: sub() for word in rng.sample(WORDS, rng.randint(1, 3))},
        lambda: [sub() for _ in range(rng.randint(1, 3))],
    ]
    return rng.choice(choices)()


_SKIP = object()


def mapping_cases(seed: int, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mapping = {f"f{index}": _mapping_value(rng, rng.randint(1, 3)) for index in range(rng.randint(1, 4))}
        out.append((mapping, _event(rng)))
    return out


# --- triggers -----------------------------------------------------------------------------------


def _fql_string(text: str) -> str:
    return f'"{text}"'  # as Segment's generateFql writes it: no escaping


def _field(rng: random.Random) -> str:
    kind = rng.choice(["type", "event", "name", "userId", "properties", "traits", "context", "properties", "traits"])
    if kind in ("properties", "traits"):
        word = rng.choice([*WORDS, "address.city", "address.street.zip", "missing", "products.0.sku"])
        return f"{kind}.{word}"
    if kind == "context":
        return "context." + rng.choice(["locale", "page.url", "personas", "personas.computation_class", "traits.plan", "ip"])
    return kind


def _literal(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.55:
        text = rng.choice(
            [
                "pro",
                "Order Completed",
                "track",
                "identify",
                "page",
                "Home",
                "user-1",
                "",
                "3",
                "null",
                "true",
                "ü-2",
                "a&b=c",
                "en-US",
                "audience",
                "Paris",
                "o'neil",
            ]
        )
        return _fql_string(text)
    if draw < 0.8:
        return rng.choice(["0", "1", "3", "-1", "19.99", "0.5", "100", "3.0"])
    return rng.choice(["true", "false", "null"])


def _condition(rng: random.Random) -> str:
    field = _field(rng)
    draw = rng.random()
    if draw < 0.1:  # typed by hand: any operator with any value
        return f"{field} {rng.choice(['=', '!=', '<', '<=', '>', '>='])} {_literal(rng)}"
    if draw < 0.45:  # as Segment's UI writes them: = and != take a string, a number or a boolean
        return f"{field} {rng.choice(['=', '!='])} {_literal(rng)}"
    if draw < 0.6:  # ... < <= > >= a number
        return f"{field} {rng.choice(['<', '<=', '>', '>='])} {rng.choice(['0', '1', '3', '-1', '19.99', '0.5', '100'])}"
    if draw < 0.75:
        return f"{field} {rng.choice(['=', '!='])} null"
    function = rng.choice(["contains", "match"])
    if field == "type":
        field = "event"
    text = rng.choice(["pro", "Order", "Completed", "a", "", "&b", "ü", "/checkout", "example.com", "Home"])
    if function == "match":
        text = rng.choice([f"{text}*", f"*{text}"])
    negate = rng.choice(["", "", "!"])
    return f"{negate}{function}({field}, {_fql_string(text)})"


def _expression(rng: random.Random) -> str:
    def group(size: int) -> str:
        joiner = f" {rng.choice(['and', 'or'])} "
        return joiner.join(_condition(rng) for _ in range(size))

    draw = rng.random()
    if draw < 0.4:
        return _condition(rng)
    if draw < 0.9:  # Segment's UI writes a flat group: all or any of its conditions
        return group(rng.randint(2, 4))
    # one level of parentheses, as Segment's generateFql writes a group inside a group
    outer = f" {rng.choice(['and', 'or'])} "
    parts = [f"({group(rng.randint(2, 3))})" if rng.random() < 0.6 else _condition(rng) for _ in range(rng.randint(2, 3))]
    return outer.join(parts)


HAND_WRITTEN = [
    # Forms Segment's UI never writes but operators type: each has an entry in differences.py
    # or must agree.
    'type = "track" and event = "Order Completed" or type = "page"',
    '!(type = "track")',
    '((type = "track") and (event = "Order Completed"))',
    "event = 'Order Completed'",
    'match(event, "Order Completed")',
    'match(event, "*der Comp*")',
    "event = null",
    "event != null",
    "type = null",
    'properties.total > "5"',
    "properties.vip != true",
    "properties.vip != false",
    "name = true",
    "userId = 3",
    "contains(properties.total, 3)",
    'contains(type, "track")',
    'match(type, "tr*")',
    'properties.vip = true and !(type = "page")',
    "properties.address.city.length > 3",
    "properties.zip.first = null",
    'properties.first\\ name = "Ann"',
    'properties.back\\\\slash = "x"',
    'event = "back\\slash"',
    # malformed (a stray parenthesis, a misspelt field): Segment reads something, destkit refuses them
    'type = "track")',
    'type = "track" and propertes.plan = "pro"',
    # Segment's odd readings, which destkit follows
    '!(type = "track") and event = "Order Completed"',
    '(contains(event, "Order") or type = "page") and type = "track"',
    'contains(type, "tr") or event = "Order Completed"',
    "properties.products.0.sku != null",
    "event = Signed",
]


def trigger_cases(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    out = []
    for index in range(count):
        expression = HAND_WRITTEN[index % len(HAND_WRITTEN)] if rng.random() < 0.03 else _expression(rng)
        out.append((expression, _event(rng)))
    return out
