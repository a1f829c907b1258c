"""The demo behind `make demo`: deliver examples/demo-events.jsonl through examples/webhook.yaml
to a webhook server this script starts on 127.0.0.1, and show what happened to every event.

The server answers the first request for each order with 503, so the retry policy shows too.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from destkit import SyncRuntime
from destkit.testing import LoopbackServer, RecordedRequest, Reply

HERE = Path(__file__).parent
seen_orders: set[str] = set()


def webhook(request: RecordedRequest) -> Reply:
    body = request.json()
    if request.path == "/orders" and body["id"] not in seen_orders:
        seen_orders.add(body["id"])
        return Reply(503, {"error": "busy, try again"}, {"Retry-After": "0"})
    return Reply(200, {"ok": True})


def main() -> int:
    events = [json.loads(line) for line in (HERE / "demo-events.jsonl").read_text().splitlines() if line.strip()]
    with LoopbackServer(webhook) as server:
        os.environ["WEBHOOK_URL"] = server.url
        os.environ.setdefault("WEBHOOK_TOKEN", "demo-secret-token")
        with SyncRuntime(HERE / "webhook.yaml") as runtime:
            results = runtime.deliver_many(events)
        received = [r for r in server.requests]

    counts: Counter[str] = Counter()
    print(f"{'messageId':<10} {'subscription':<20} {'status':<10} attempts  detail")
    for outcomes in results:
        for outcome in outcomes:
            counts[outcome.status] += 1
            where = f"{outcome.destination}/{outcome.subscription}" if outcome.destination else "-"
            detail = f"{outcome.error.code}: {outcome.error.message}" if outcome.error else (outcome.reason or "")
            print(f"{outcome.message_id or '-':<10} {where:<20} {outcome.status:<10} {outcome.attempts:<9} {detail}")
    print("\nthe webhook received:")
    for request in received:
        auth = "with" if request.headers.get("authorization") else "without"
        print(f"  {request.method} {request.path} {auth} Authorization: {request.body.decode()}")
    print("\n" + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    return 0 if counts.get("delivered") else 1


if __name__ == "__main__":
    sys.exit(main())
