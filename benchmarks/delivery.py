"""Delivery throughput: the full runtime against bare clients sending the same requests.

A minimal HTTP server answers 200 on 127.0.0.1 from its own process. Each client sends the
same events as JSON POSTs at the same concurrency, on each event loop (asyncio's and uvloop):

- bare aiohttp: aiohttp's own client, the reference the runtime is measured against;
- raw httpx: httpx.AsyncClient over the httpx-aiohttp adapter, alone;
- destkit's transport alone (``destkit.transport``): the same requests, built as httpx.Request
  objects beforehand, sent without the runtime: what the runtime itself adds shows beside it;
- the runtime (validation, trigger, mapping, payload model, retries, outcomes, through the
  webhook destination) on each candidate transport: destkit's own (the default), the
  httpx-aiohttp adapter, and httpx's own (httpcore).

Each figure is the median of several runs, the clients interleaved so that drift on the
machine touches all alike.

    python benchmarks/delivery.py [--events 5000] [--concurrency 32] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from common import sink
from httpx_aiohttp import AiohttpTransport

from destkit import Runtime, Status
from destkit.loops import run, tune_collector
from destkit.transport import Transport as DestkitTransport


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


async def raw_transport(url: str, events: list[dict[str, Any]], concurrency: int) -> float:
    # The requests are built beforehand: what is timed is the transport alone.
    timeout = {"timeout": {"read": 10.0}}
    requests = [httpx.Request("POST", url, json=event, extensions=timeout) for event in events]
    async with DestkitTransport(max_connections=concurrency) as transport:

        async def send(request: httpx.Request) -> None:
            response = await transport.handle_async_request(request)
            if response.status_code != 200:
                raise SystemExit(f"the sink answered {response.status_code}")

        return await bounded(requests, concurrency, send)


def transports(concurrency: int) -> dict[str, Callable[[], httpx.AsyncBaseTransport]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return {
        "destkit": lambda: DestkitTransport(max_connections=concurrency),
        "httpx_aiohttp": lambda: AiohttpTransport(limits=limits),
        "httpcore": lambda: httpx.AsyncHTTPTransport(limits=limits),
    }


async def runtime(url: str, events: list[dict[str, Any]], concurrency: int, transport: httpx.AsyncBaseTransport) -> float:
    config = {
        "runtime": {"concurrency": concurrency},
        "destinations": [
            {"name": "sink", "type": "webhook", "settings": {"url": url}, "subscriptions": [{"name": "all", "action": "send"}]}
        ],
    }
    async with transport, Runtime(config, transport=transport) as rt:
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
    events = make_events(args.events)
    tune_collector()  # as destkit's commands run; every client below runs with it alike
    figures: dict[str, dict[str, list[float]]] = {}
    with sink() as url:
        for _ in range(args.runs):  # interleaved, so drift on the machine touches all alike
            for loop in ("asyncio", "uvloop"):
                made = transports(args.concurrency)
                clients: dict[str, Callable[[], Any]] = {
                    "bare_aiohttp": lambda: raw_aiohttp(url, events, args.concurrency),
                    "raw_httpx": lambda: raw_httpx(url, events, args.concurrency),
                    "destkit_transport_alone": lambda: raw_transport(url, events, args.concurrency),
                    **{
                        f"runtime_{name}": (lambda make=make: runtime(url, events, args.concurrency, make()))
                        for name, make in made.items()
                    },
                }
                for name, client in clients.items():
                    figures.setdefault(loop, {}).setdefault(name, []).append(run(client(), loop))
    result: dict[str, Any] = {}
    for loop, rates in figures.items():
        medians = {name: round(statistics.median(values)) for name, values in rates.items()}
        result[loop] = {
            "requests_per_s": medians,
            "runtime_vs_bare_aiohttp": {
                name.removeprefix("runtime_"): round(rate / medians["bare_aiohttp"], 2)
                for name, rate in medians.items()
                if name.startswith("runtime_")
            },
        }
    result["runtime_vs_its_transport_alone"] = round(
        result["uvloop"]["requests_per_s"]["runtime_destkit"] / result["uvloop"]["requests_per_s"]["destkit_transport_alone"], 2
    )
    result["uvloop_vs_asyncio_runtime"] = round(
        result["uvloop"]["requests_per_s"]["runtime_destkit"] / result["asyncio"]["requests_per_s"]["runtime_destkit"], 2
    )
    result["settings"] = {"events": args.events, "concurrency": args.concurrency, "runs": args.runs}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
