"""Delivery throughput: the full runtime against a raw client sending the same requests.

A minimal HTTP server answers 200 on 127.0.0.1 from its own process. Each client sends the
same events as JSON POSTs at the same concurrency:

- raw httpx: httpx.AsyncClient over the aiohttp transport (the client destkit uses), alone;
- raw aiohttp: aiohttp's own client, for reference;
- destkit: Runtime.deliver for every event (validation, trigger, mapping, payload model,
  retries, outcomes) through the webhook destination.

Each figure is the median of several runs.    python benchmarks/delivery.py [--events 5000] [--concurrency 32] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from destkit import Runtime, Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "messageId": f"bench-{i}",
            "timestamp": "2026-11-01T10:00:00.000Z",
            "userId": f"user-{i % 1000}",
            "event": "Order Completed",
            "properties": {"order_id": f"o-{i}", "total": 19.99, "currency": "EUR", "products": [{"sku": "s-1", "qty": 2}]},
            "context": {"ip": "203.0.113.9", "library": {"name": "analytics-python", "version": "2.3.0"}},
        }
        for i in range(n)
    ]


async def bounded(items: list[Any], concurrency: int, send: Callable[[Any], Awaitable[None]]) -> float:
    slots = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with slots:
            await send(item)

    await one(items[0])  # warm the connection pool
    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in items))
    return len(items) / (time.perf_counter() - started)


async def raw_httpx(url: str, events: list[dict[str, Any]], concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits), timeout=10) as client:

        async def send(event: dict[str, Any]) -> None:
            (await client.post(url, json=event)).raise_for_status()

        return await bounded(events, concurrency, send)


async def raw_aiohttp(url: str, events: list[dict[str, Any]], concurrency: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send(event: dict[str, Any]) -> None:
            async with session.post(url, json=event) as response:
                response.raise_for_status()
                await response.read()

        return await bounded(events, concurrency, send)


async def runtime(url: str, events: list[dict[str, Any]], concurrency: int) -> float:
    config = {
        "runtime": {"concurrency": concurrency},
        "destinations": [
            {"name": "sink", "type": "webhook", "settings": {"url": url}, "subscriptions": [{"name": "all", "action": "send"}]}
        ],
    }
    async with Runtime(config) as rt:
        failures = 0

        async def send(event: dict[str, Any]) -> None:
            nonlocal failures
            outcomes = await rt.deliver(event)
            failures += outcomes[0].status != Status.DELIVERED

        # The runtime bounds network work itself; the outer bound only keeps the task count sane.
        result = await bounded(events, concurrency * 4, send)
        if failures:
            raise SystemExit(f"{failures} deliveries failed during the benchmark")
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from destkit.testing.server import main; main()", str(port)])
    url = f"http://127.0.0.1:{port}/in"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        events = make_events(args.events)
        figures: dict[str, list[float]] = {"raw_httpx": [], "raw_aiohttp": [], "destkit_runtime": []}
        clients = {"raw_httpx": raw_httpx, "raw_aiohttp": raw_aiohttp, "destkit_runtime": runtime}
        for _ in range(args.runs):  # interleaved, so drift on the machine touches all alike
            for name, client in clients.items():
                figures[name].append(asyncio.run(client(url, events, args.concurrency)))
    finally:
        server.terminate()
        server.wait(10)
    medians = {name: round(statistics.median(rates)) for name, rates in figures.items()}
    print(
        json.dumps(
            {
                "requests_per_s": medians,
                "runtime_vs_raw_httpx": round(medians["destkit_runtime"] / medians["raw_httpx"], 2),
                "runtime_vs_raw_aiohttp": round(medians["destkit_runtime"] / medians["raw_aiohttp"], 2),
                "events": args.events,
                "concurrency": args.concurrency,
                "runs": args.runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
