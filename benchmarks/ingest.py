"""destkit serve's ingest: events/s accepted and durably stored, from a load generator on loopback.

destkit serve runs as its own process, delivering to a minimal webhook sink (another
process); the load generator posts Segment batches (100 events each) with several requests
in flight, and counts the events answered 200 (each answered only once in the state store).
It also reports how long the service took to deliver everything it accepted.

    python benchmarks/ingest.py [--events 100000] [--batch 100] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

DESTKIT = str(Path(sys.executable).with_name("destkit"))
KEY = "wk-bench-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def load(url: str, events: int, batch: int, concurrency: int) -> float:
    bodies = [
        json.dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "userId": f"user-{(i + j) % 5000}",
                        "event": "Product Viewed",
                        "properties": {"sku": f"sku-{j}", "price": 9.99},
                    }
                    for j in range(batch)
                ]
            }
        ).encode()
        for i in range(0, events, batch)
    ]
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits), auth=(KEY, ""), timeout=30) as client:
        slots = asyncio.Semaphore(concurrency)
        accepted = 0

        async def post(body: bytes) -> None:
            nonlocal accepted
            async with slots:
                answer = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                answer.raise_for_status()
                accepted += batch

        started = time.perf_counter()
        await asyncio.gather(*(post(body) for body in bodies))
        elapsed = time.perf_counter() - started
    assert accepted == len(bodies) * batch
    return accepted / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sink_port, serve_port = free_port(), free_port()
    sink = subprocess.Popen([sys.executable, "-c", "from destkit.testing.server import main; main()", str(sink_port)])
    rates, drains = [], []
    try:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                config = Path(folder) / "serve.json"
                entry = {"name": "sink", "type": "webhook", "settings": {"url": f"http://127.0.0.1:{sink_port}/in"}}
                config.write_text(json.dumps({"serve": {"write_keys": [KEY]}, "destinations": [entry]}))
                serve = subprocess.Popen(
                    [DESTKIT, "serve", "--config", str(config), "--port", str(serve_port), "--state", f"{folder}/state.db"],
                    stderr=subprocess.DEVNULL,
                )
                try:
                    base = f"http://127.0.0.1:{serve_port}"
                    wait_up(f"{base}/healthz")
                    started = time.perf_counter()
                    rates.append(asyncio.run(load(f"{base}/v1/batch", args.events, args.batch, args.concurrency)))
                    while httpx.get(f"{base}/healthz").json()["queue"] > 0:
                        time.sleep(0.2)
                    drains.append(args.events / (time.perf_counter() - started))
                finally:
                    serve.terminate()
                    serve.wait(30)
    finally:
        sink.terminate()
        sink.wait(10)
    print(
        json.dumps(
            {
                "accepted_events_per_s": round(statistics.median(rates)),
                "accepted_and_delivered_events_per_s": round(statistics.median(drains)),
                "events": args.events,
                "batch": args.batch,
                "concurrency": args.concurrency,
                "runs": args.runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
