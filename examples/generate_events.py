"""Writes the example event files (deterministic: run it again and nothing changes).

- events.jsonl: a few hundred realistic events (identify, track, page, Engage audience
  payloads) for 40 visitors, the seed's three identity scenarios, one visitor Target has no
  profile for, and one trait too long for Target.
- adobe-target-profiles.json: the profiles the Adobe Target sandbox starts with (the ones
  the web integration would have created).
- broken-events.jsonl: one line of each kind of bad input, between good ones.

    python examples/generate_events.py [--large N FILE]   # --large: N events for benchmarks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PLANS = ["free", "pro", "team", "enterprise"]
COMPANIES = ["Initech", "Globex", "Umbrella", "Hooli", "Stark & Wayne", "Acme = Co"]
PRODUCTS = [
    ("sku-100", "Espresso Beans", 14.5),
    ("sku-200", "Grinder", 89.0),
    ("sku-300", "Kettle", 39.99),
    ("sku-400", "Filter Papers", 4.25),
]
AUDIENCES = ["high_value_customers", "churn_risk", "coffee_lovers"]


class Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = START
        self.count = 0

    def event(self, kind: str, who: dict[str, str], **fields: Any) -> dict[str, Any]:
        self.count += 1
        self.clock += timedelta(seconds=self.rng.randint(1, 90))
        stamp = self.clock.isoformat().replace("+00:00", "Z")
        return {
            "type": kind,
            "messageId": f"ex-{self.count:05d}",
            "timestamp": stamp,
            **who,
            "context": {
                "ip": f"203.0.113.{self.rng.randint(1, 254)}",
                "library": {"name": "analytics.js", "version": "5.2.0"},
                "locale": "en-US",
            },
            **fields,
        }


def visitor(index: int) -> tuple[str, str]:
    return f"user-{index:03d}", f"anon-{index:03d}-{(index * 7919) % 10000:04d}"


def engage_context(writer: Writer, audience: str) -> dict[str, Any]:
    personas = {
        "computation_class": "audience",
        "computation_id": "aud_" + hashlib.sha256(audience.encode()).hexdigest()[:12],
        "computation_key": audience,
        "namespace": "spa_example",
        "space_id": "spa_example",
    }
    return {"ip": "203.0.113.1", "library": {"name": "unknown", "version": "unknown"}, "personas": personas}


def realistic(writer: Writer, visitors: int = 40) -> list[dict[str, Any]]:
    rng = writer.rng
    events: list[dict[str, Any]] = []
    for index in range(1, visitors + 1):
        user_id, anonymous_id = visitor(index)
        known = {"userId": user_id, "anonymousId": anonymous_id}
        events.append(writer.event("page", {"anonymousId": anonymous_id}, name="Home", properties={"path": "/", "title": "Home"}))
        events.append(
            writer.event(
                "identify",
                known,
                traits={
                    "name": f"Visitor {index}",
                    "email": f"visitor{index}@example.com",
                    "plan": rng.choice(PLANS),
                    "company": {"name": rng.choice(COMPANIES), "employees": rng.choice([5, 40, 300, 5000])},
                    "lifetime_value": round(rng.uniform(0, 2500), 2),
                    "newsletter": rng.random() < 0.5,
                    "favorite_products": rng.sample([p[0] for p in PRODUCTS], 2),
                    "bio": None if rng.random() < 0.7 else "Coffee person",
                },
            )
        )
        for _ in range(rng.randint(1, 4)):
            sku, name, price = rng.choice(PRODUCTS)
            events.append(
                writer.event("track", known, event="Product Viewed", properties={"product_id": sku, "name": name, "price": price})
            )
        if rng.random() < 0.6:
            items = rng.sample(PRODUCTS, rng.randint(1, 3))
            products = [
                {"product_id": sku, "name": name, "price": price, "quantity": rng.randint(1, 3)} for sku, name, price in items
            ]
            total = round(sum(p["price"] * p["quantity"] for p in products), 2)
            events.append(
                writer.event(
                    "track",
                    known,
                    event="Order Completed",
                    properties={
                        "order_id": f"o-{index}-{rng.randint(100, 999)}",
                        "total": total,
                        "currency": "EUR",
                        "products": products,
                    },
                )
            )
        if rng.random() < 0.3:
            audience = rng.choice(AUDIENCES)
            events.append(
                writer.event("identify", {"userId": user_id}, traits={audience: True}, context=engage_context(writer, audience))
            )
        if rng.random() < 0.3:
            audience = rng.choice(AUDIENCES)
            entered = rng.random() < 0.7
            events.append(
                writer.event(
                    "track",
                    {"userId": user_id},
                    event="Audience Entered" if entered else "Audience Exited",
                    properties={"audience_key": audience, audience: entered},
                    context=engage_context(writer, audience),
                )
            )
    return events


def scenarios(writer: Writer) -> list[dict[str, Any]]:
    """The seed's three identity scenarios, one visitor Target lacks, and one over-long trait."""
    events = [
        # 1. anonymous, never known: one profile keyed by the anonymousId
        writer.event("identify", {"anonymousId": "anon-only-1"}, traits={"plan": "free"}),
        # 2. known from the first contact, on two devices: one profile keyed by the userId
        writer.event("identify", {"userId": "user-cross-device", "anonymousId": "device-a"}, traits={"plan": "pro"}),
        writer.event("identify", {"userId": "user-cross-device", "anonymousId": "device-b"}, traits={"plan": "team"}),
        # 3. anonymous, then known: two profiles, both kept
        writer.event("identify", {"anonymousId": "anon-later-known"}, traits={"plan": "free"}),
        writer.event("identify", {"userId": "user-later-known", "anonymousId": "anon-later-known"}, traits={"plan": "pro"}),
        # Target has no profile for this visitor (never seen on the web, or expired)
        writer.event("identify", {"userId": "user-ghost"}, traits={"plan": "pro"}),
        # a trait over Target's 256-character limit
        writer.event("identify", {"userId": "user-001"}, traits={"plan": "pro", "bio": "I like coffee. " * 20}),
    ]
    return events


def profiles(visitors: int = 40) -> list[Any]:
    seeded: list[Any] = []
    for index in range(1, visitors + 1):
        user_id, anonymous_id = visitor(index)
        seeded.append({"mbox3rdPartyId": user_id, "attributes": {"first_seen": "web"}})
        seeded.append(anonymous_id)
    seeded += ["anon-only-1", "user-cross-device", "anon-later-known", "user-later-known"]
    return seeded


def broken_lines() -> list[bytes]:
    good = {"type": "track", "messageId": "ok-1", "userId": "user-001", "event": "Product Viewed", "properties": {}}
    big = {"type": "identify", "messageId": "big-1", "userId": "user-001", "traits": {"blob": "x" * 33_000}}
    lines = [
        json.dumps(good),
        "{this is not json",
        json.dumps(["an", "array"]),
        json.dumps({"messageId": "no-type", "userId": "user-001"}),
        json.dumps({"type": "launch", "messageId": "bad-type", "userId": "user-001"}),
        json.dumps({"type": "identify", "messageId": "nobody", "traits": {"plan": "pro"}}),
        json.dumps({"type": "track", "messageId": "no-event", "userId": "user-001"}),
        json.dumps(big),
        "",
        json.dumps({**good, "messageId": "ok-2"}),
    ]
    encoded = [line.encode() for line in lines]
    encoded.insert(8, b'{"type": "identify", "userId": "caf\xe9"}')  # Latin-1, not UTF-8
    encoded.append(b'{"type": "track", "messageId": "cut", "userId": "user-0')  # truncated, no newline
    return encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", nargs=2, metavar=("N", "FILE"), help="write N events to FILE instead (benchmarks)")
    args = parser.parse_args()
    if args.large:
        count, path = int(args.large[0]), Path(args.large[1])
        writer = Writer(seed=11)
        with open(path, "w", encoding="utf-8") as out:
            written = 0
            while written < count:
                for event in realistic(writer, visitors=200):
                    if written == count:
                        break
                    out.write(json.dumps(event) + "\n")
                    written += 1
        return
    writer = Writer(seed=7)
    events = realistic(writer) + scenarios(writer)
    (HERE / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    (HERE / "adobe-target-profiles.json").write_text(json.dumps(profiles(), indent=1) + "\n", encoding="utf-8")
    broken = broken_lines()
    (HERE / "broken-events.jsonl").write_bytes(b"\n".join(broken))


if __name__ == "__main__":
    main()
