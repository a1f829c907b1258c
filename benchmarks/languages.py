"""Throughput of the two languages, compiled once, on one core.

The mapping is a realistic 8-field one (an @if on userId/anonymousId, a whole-object @path,
five leaf paths, a @case and a @template); the same mapping is measured again with a ninth
field rendered by @liquid (a condition and a filter); the trigger has three clauses. Each
figure is the median of several timed runs.

    python benchmarks/languages.py [--runs 7] [--events 200000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from destkit import compile_mapping, compile_trigger

MAPPING: dict[str, Any] = {
    "id": {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"}, "else": {"@path": "$.anonymousId"}}},
    "traits": {"@path": "$.traits"},
    "email": {"@path": "$.traits.email"},
    "city": {"@path": "$.traits.address.city"},
    "plan": {"@path": "$.traits.plan"},
    "ip": {"@path": "$.context.ip"},
    "sent": {"@path": "$.timestamp"},
    "country": {"@case": {"operator": "upper", "value": {"@path": "$.traits.address.country"}}},
    "greeting": {"@template": "Hello {{traits.first_name}} {{traits.last_name}}"},
}
LIQUID_MAPPING: dict[str, Any] = {
    **MAPPING,
    "tier": {"@liquid": "{% if traits.logins > 3 %}{{ traits.plan | upcase }}{% else %}new{% endif %}"},
}
TRIGGER = 'type = "identify" and traits.plan = "pro" and traits.logins > 3'


def events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "identify",
            "messageId": f"m-{i}",
            "timestamp": "2026-11-01T10:00:00.000Z",
            **({"userId": f"user-{i}"} if i % 3 else {"anonymousId": f"anon-{i}"}),
            "context": {"ip": "203.0.113.9", "library": {"name": "analytics.js", "version": "2.11.1"}},
            "traits": {
                "email": f"person{i}@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "plan": "pro" if i % 2 else "free",
                "logins": i % 7,
                "address": {"city": "London", "country": "gb"},
            },
        }
        for i in range(n)
    ]


def rate(fn: Any, items: list[dict[str, Any]], runs: int) -> float:
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for item in items:
            fn(item)
        rates.append(len(items) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    data = events(args.events)
    mapping = compile_mapping(MAPPING)
    liquid = compile_mapping(LIQUID_MAPPING)
    trigger = compile_trigger(TRIGGER)
    assert mapping(data[1])["greeting"] == "Hello Ada Lovelace" and mapping(data[0])["id"] == "anon-0"
    assert liquid(data[5])["tier"] == "PRO" and liquid(data[2])["tier"] == "new"
    assert sum(map(trigger, data)) > 0
    results = {
        "mapping_events_per_s": round(rate(mapping, data, args.runs)),
        "liquid_mapping_events_per_s": round(rate(liquid, data[: max(1, len(data) // 10)], args.runs)),
        "trigger_evaluations_per_s": round(rate(trigger, data, args.runs)),
        "runs": args.runs,
        "events": args.events,
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
