"""destkit serve under sustained load: events accepted and delivered per second, and the queue over time.

``destkit serve`` runs as its own process (``--workers`` delivery processes on its state
store), delivering to a webhook sink (another process) that takes ``--latency-ms`` to answer
each request, as a real destination does. A load generator posts Segment batches (``--batch``
events each, ``--concurrency`` requests in flight) for ``--seconds``; an event counts as
accepted when answered 200 (stored first). Past ``serve.max_queue`` waiting events the service
answers 503 and the generator waits as Segment's libraries do, so the queue stays bounded.

Measured: accepted/s over the load, and until the queue first filled (the service's own pace,
before it pushed back); delivered/s over the load (accepted minus what still waits at its
end) and until the queue is empty; the 503s answered; the queue depth every second.

    python benchmarks/ingest.py [--seconds 30] [--batch 100] [--concurrency 8] [--latency-ms 20]
                                [--workers 2] [--runtime-concurrency 512] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import DESTKIT, KEY, batches, free_port, sink, wait_up

from destkit.transport import Transport


class Load:
    """Batches posted for a time; what was accepted, and when the service first pushed back."""

    def __init__(self) -> None:
        self.accepted = 0
        self.pushed_back = 0  # 503 answers: the queue was full
        self.resent = 0  # batches sent again after the connection closed under them
        self.first_push_back: tuple[int, float] | None = None  # (accepted, seconds) at the first 503

    async def run(self, url: str, seconds: float, batch: int, concurrency: int) -> float:
        """Post batches for ``seconds``; returns the time taken."""
        bodies = batches(batch * 200, batch)
        transport = Transport(max_connections=concurrency)
        started = time.perf_counter()
        deadline = started + seconds
        async with httpx.AsyncClient(transport=transport, auth=(KEY, ""), timeout=60) as client:

            async def poster(offset: int) -> None:
                for body in itertools.islice(itertools.cycle(bodies), offset, None):
                    if time.perf_counter() >= deadline:
                        return
                    try:
                        answer = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                    except httpx.TransportError:  # a kept-alive connection the service closed: send again
                        self.resent += 1
                        continue
                    if answer.status_code == 503:  # the queue is full: wait, as Segment's libraries do
                        self.pushed_back += 1
                        if self.first_push_back is None:
                            self.first_push_back = (self.accepted, time.perf_counter() - started)
                        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                        continue
                    answer.raise_for_status()
                    self.accepted += batch

            await asyncio.gather(*(poster(n) for n in range(concurrency)))
        return time.perf_counter() - started


def depth(base: str) -> int:
    return int(httpx.get(f"{base}/healthz").json()["queue"])


def one_run(args: argparse.Namespace, sink_url: str, folder: Path) -> dict[str, Any]:
    config = folder / "serve.json"
    entry = {"name": "sink", "type": "webhook", "settings": {"url": sink_url}}
    config.write_text(
        json.dumps(
            {
                "serve": {"write_keys": [KEY], "max_queue": args.max_queue},
                "runtime": {"concurrency": args.runtime_concurrency},
                "destinations": [entry],
            }
        )
    )
    port = free_port()
    serve = subprocess.Popen(
        [
            DESTKIT,
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--state",
            f"{folder}/state.db",
            "--workers",
            str(args.workers),
        ],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    samples: list[int] = []
    try:
        wait_up(f"{base}/healthz", serve)
        time.sleep(1.0)  # the delivery processes take their shares

        load = Load()

        async def measured() -> float:
            async def sample() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    samples.append(await asyncio.to_thread(depth, base))

            sampling = asyncio.create_task(sample())
            try:
                return await load.run(f"{base}/v1/batch", args.seconds, args.batch, args.concurrency)
            finally:
                sampling.cancel()

        seconds = asyncio.run(measured())
        accepted = load.accepted
        left = depth(base)
        started = time.perf_counter()
        while (waiting := depth(base)) > 0:
            samples.append(waiting)
            time.sleep(1.0)
        emptied = time.perf_counter() - started
    finally:
        serve.terminate()
        serve.wait(60)
    until_full = load.first_push_back or (accepted, seconds)
    return {
        "accepted_per_s": accepted / seconds,
        "accepted_per_s_until_the_queue_was_full": until_full[0] / until_full[1],
        "answered_503": load.pushed_back,
        "sent_again": load.resent,
        "delivered_per_s_during_load": (accepted - left) / seconds,
        "delivered_per_s_until_empty": accepted / (seconds + emptied),
        "max_queue_depth": max(samples, default=0),
        "queue_depth_each_second": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runtime-concurrency", type=int, default=512)
    parser.add_argument("--max-queue", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    with sink(args.latency_ms) as sink_url:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(one_run(args, sink_url, Path(folder)))
    numeric = (
        "accepted_per_s",
        "accepted_per_s_until_the_queue_was_full",
        "answered_503",
        "delivered_per_s_during_load",
        "delivered_per_s_until_empty",
        "max_queue_depth",
    )
    medians = {key: round(statistics.median(run[key] for run in runs)) for key in numeric}
    result = {
        **medians,
        "drain_vs_accept": round(medians["delivered_per_s_during_load"] / medians["accepted_per_s"], 2),
        "queue_depth_each_second": runs[len(runs) // 2]["queue_depth_each_second"],
        "settings": vars(args),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
