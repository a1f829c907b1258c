"""The delivery worker in-process, on both backends: claiming, settling, sharing, stopping."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from typing import Any

import httpx

from destkit import Runtime
from destkit.state import Park, StateStore, open_store
from destkit.testing import RecordingTransport
from destkit.worker import Worker, WorkerOptions

CONFIG = {
    "runtime": {"concurrency": 2},
    "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "https://hooks.example.com"}}],
}


async def fill(store: StateStore, count: int, people: int) -> None:
    events: list[dict[str, Any]] = [
        {"type": "track", "messageId": f"m{n}", "userId": f"u{n % people}", "event": "Step", "properties": {"n": n}}
        for n in range(count)
    ]
    for start in range(0, count, 100):
        await store.accept([(e["userId"], json.dumps(e)) for e in events[start : start + 100]], time.time())


async def drained(store: StateStore, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await store.inbox_depth() == 0:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_worker_claims_again_as_soon_as_settled_events_leave_room(store: StateStore) -> None:
    """It may hold twice its window of unsettled events; more than that waits for settlements,
    not for the next look at the inbox (a minute away here)."""
    await fill(store, 200, people=50)  # 200 events, a window of 16
    transport = RecordingTransport()
    runtime = Runtime(CONFIG, transport=transport, state=store)
    stop = asyncio.Event()
    async with runtime:
        task = asyncio.create_task(Worker(runtime, store, WorkerOptions(poll=60)).run(stop))
        assert await drained(store, timeout=10)
        stop.set()
        await task
    assert len(transport.requests) == 200


async def test_two_workers_share_the_inbox_and_keep_each_persons_order(store: StateStore, state_location: str) -> None:
    await fill(store, 300, people=12)
    arrived: dict[str, list[int]] = defaultdict(list)

    async def destination(request: httpx.Request) -> httpx.Response:
        event = json.loads(request.content)
        await asyncio.sleep(0.001)
        arrived[event["userId"]].append(event["properties"]["n"])
        return httpx.Response(200, json={})

    stop = asyncio.Event()
    async with open_store(state_location) as second_store:
        runtimes = [Runtime(CONFIG, transport=httpx.MockTransport(destination), state=s) for s in (store, second_store)]
        workers = [Worker(runtime, s) for runtime, s in zip(runtimes, (store, second_store), strict=True)]
        async with runtimes[0], runtimes[1]:
            tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
            assert await drained(store, timeout=20)
            stop.set()
            await asyncio.gather(*tasks)
    assert sum(len(seen) for seen in arrived.values()) == 300
    for person, seen in arrived.items():
        assert seen == sorted(seen), f"{person}: {seen}"


async def test_on_stop_what_was_not_settled_stays_in_the_inbox(store: StateStore) -> None:
    await fill(store, 20, people=20)
    release = asyncio.Event()

    async def stuck(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json={})

    runtime = Runtime(CONFIG, transport=httpx.MockTransport(stuck), state=store)
    stop = asyncio.Event()
    async with runtime:
        task = asyncio.create_task(Worker(runtime, store, WorkerOptions(grace=0.2)).run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        await task
        release.set()
    assert await store.inbox_depth() == 20  # nothing settled: all of it waits for the next worker
    status = await store.status(30)
    assert status.workers == []  # it left cleanly, its share free at once


async def sent_before_stopping(store: StateStore) -> int:
    """Run a worker (two places on the network) that the first request to arrive stops, with a
    long grace; how many requests were sent."""
    stop = asyncio.Event()

    async def destination(request: httpx.Request) -> httpx.Response:
        stop.set()
        await asyncio.sleep(0.05)
        return httpx.Response(200, json={})

    transport = RecordingTransport(destination)
    async with Runtime(CONFIG, transport=transport, state=store) as runtime:
        await Worker(runtime, store, WorkerOptions(grace=10)).run(stop)
    return len(transport.requests)


async def test_on_stop_events_waiting_for_a_place_are_not_sent_and_stay_in_the_inbox(store: StateStore) -> None:
    await fill(store, 20, people=20)
    sent = await sent_before_stopping(store)
    # What had a place finishes within the grace; the rest is not sent.
    assert 1 <= sent <= 2 and await store.inbox_depth() == 20 - sent


async def test_on_stop_parked_deliveries_waiting_for_a_place_are_not_tried(store: StateStore) -> None:
    now = time.time()
    await store.apply(
        [
            Park((f"m{n}", "hook", "every event"), {"type": "track", "messageId": f"m{n}", "userId": f"u{n}", "event": "Step"},
                 1, "TIMEOUT", "no answer", now - 1, now + 3600, now - 60)
            for n in range(20)
        ]
    )  # fmt: skip
    sent = await sent_before_stopping(store)
    # What had a place is delivered; the rest stays parked, its claims given back.
    assert 1 <= sent <= 2 and await store.parked_count() == 20 - sent
    assert len(await store.claim_due("the next worker", 100, 30)) == 20 - sent


def test_worker_options_default_to_a_lease_of_tens_of_seconds() -> None:
    options: Any = WorkerOptions()
    assert 10 <= options.lease <= 60
