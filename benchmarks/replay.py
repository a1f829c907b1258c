"""destkit replay on a large file: events/s and peak memory, as a user runs it (a real process).

- dry run: 200,000 realistic events (examples/generate_events.py --large) through the Adobe
  Target example config with --dry-run (every request built and printed to /dev/null);
- live: the same file to a webhook on 127.0.0.1 (a minimal server in its own process), every
  event posted, with the state store (ledger and all) as replay keeps it by default, with
  ``--workers 1`` and ``--workers 2``, beside a bare aiohttp client posting the same lines at
  the same concurrency (32, the runtime's default) on the same loop (uvloop), in one process
  and in two (each posting half the lines): what two processes gain here when they only post;
- memory: the dry run on files of different sizes, to show it does not grow with the file;
- CPU: what one process and the sink use per event, and the ceiling they set for two processes
  on two cores (``two_workers_ceiling``: both cores busy, each event costing what it costs one
  process, the sink's share included, with nothing lost to sharing);
- with ``--state-cost``, the live replays also without the state store (``--no-state``), one
  process and two: what the ledger costs each.

Each figure is the median of the runs; peak memory is the replay process's own maximum RSS.

    python benchmarks/replay.py [--events 200000] [--runs 3] [--skip-live] [--state-cost]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from common import cpu_seconds, sink

from destkit.loops import run, tune_collector

ROOT = Path(__file__).resolve().parents[1]
DESTKIT = str(Path(sys.executable).with_name("destkit"))
CONCURRENCY = 32  # the runtime's default


def make_file(count: int, folder: Path) -> Path:
    path = folder / f"events-{count}.jsonl"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "generate_events.py"), "--large", str(count), str(path)], check=True
        )
    return path


def measure(args: list[str]) -> tuple[float, float, str, float]:
    """Run destkit replay; return (events/s it reports, peak RSS in MB of that process, summary,
    CPU seconds it and its processes used)."""
    stdout = subprocess.DEVNULL if "--dry-run" in args else subprocess.PIPE
    process = subprocess.Popen([DESTKIT, "replay", *args, "-q"], stdout=stdout, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    out = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    # A dry run's summary shares standard error with the log lines (a warning per invalid payload...).
    summary = next(line for line in (err if "--dry-run" in args else out).splitlines() if line.startswith("replay events="))
    if process.returncode not in (0, 1):
        raise SystemExit(f"replay failed ({process.returncode}): {err}")
    rate = float(re.search(r"rate=(\d+)/s", summary).group(1))  # type: ignore[union-attr]
    return rate, usage.ru_maxrss / 1024, summary, usage.ru_utime + usage.ru_stime


async def _bare(url: str, lines: list[bytes], concurrency: int) -> None:
    """The bare client: each line POSTed as it is, ``concurrency`` at once."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        todo = iter(lines)

        async def sender() -> None:
            for line in todo:
                async with session.post(url, data=line, headers={"Content-Type": "application/json"}) as answer:
                    answer.raise_for_status()
                    await answer.read()

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def _bare_share(url: str, path: Path, concurrency: int, share: int, shares: int, ready: Any, spans: Any) -> None:
    """One bare client process: its share of the lines (every ``shares``-th), posted once all
    the processes are ready; puts (start, end, lines posted) in ``spans``."""
    try:
        tune_collector()  # the bare client collects garbage as destkit's commands do
        lines = path.read_bytes().splitlines()[share::shares]
        ready.wait(60)
        started = time.monotonic()
        run(_bare(url, lines, concurrency), "uvloop")  # the loop destkit replay runs on
        spans.put((started, time.monotonic(), len(lines)))
    except BaseException as exc:
        spans.put(f"bare client {share + 1} of {shares}: {exc!r}")  # the parent stops, saying why
        raise


def bare_clients(url: str, path: Path, concurrency: int, processes: int = 1) -> float:
    """The rate of ``processes`` bare clients sharing the file's lines, started together, each in
    a process of its own (the file it holds in memory would otherwise stay in this one, and count
    in the peak memory of every replay it starts): all the lines over the time from the first
    start to the last end."""
    context = multiprocessing.get_context("spawn")
    ready, spans = context.Barrier(processes), context.Queue()
    clients = [
        context.Process(target=_bare_share, args=(url, path, concurrency, share, processes, ready, spans))
        for share in range(processes)
    ]
    for client in clients:
        client.start()
    done = [spans.get(timeout=600) for _ in clients]
    for client in clients:
        client.join()
    if failed := [span for span in done if isinstance(span, str)]:
        raise SystemExit("; ".join(failed))
    return sum(posted for _, _, posted in done) / (max(end for _, end, _ in done) - min(start for start, _, _ in done))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--state-cost", action="store_true", help="also replay without the state store, one process and two")
    args = parser.parse_args()
    results: dict[str, object] = {"events": args.events, "runs": args.runs}
    with tempfile.TemporaryDirectory() as folder:
        big = make_file(args.events, Path(folder))
        config = str(ROOT / "examples" / "adobe-target.yaml")
        dry = [measure([str(big), "--config", config, "--dry-run"]) for _ in range(args.runs)]
        results["dry_run_events_per_s"] = statistics.median(r[0] for r in dry)
        results["dry_run_peak_mb"] = round(max(r[1] for r in dry), 1)
        small = make_file(args.events // 10, Path(folder))
        results["dry_run_peak_mb_tenth_of_the_file"] = round(measure([str(small), "--config", config, "--dry-run"])[1], 1)
        if not args.skip_live:
            results.update(live(big, Path(folder), args.runs, args.state_cost))
    print(json.dumps(results, indent=2))


def live(events: Path, folder: Path, runs: int, state_cost: bool = False) -> dict[str, object]:
    """Live replays to a loopback webhook, with the ledger, on one process and on two, beside
    the bare client posting the same lines at the same concurrency in one process and in two;
    the four alternate run by run, so that a slower moment of the machine weighs on all of them.

    The sink shares the two cores with the clients, so two processes cannot double one's rate:
    ``two_bare_clients_vs_one`` is what two bare clients gain over one in the same runs, the
    reference for ``two_workers_vs_one``. The CPU figures say where one replay's time goes: its
    processes' (its start, an empty replay's CPU, taken out) and the sink's meanwhile. With
    ``state_cost``, each run also replays without the state store, on one process and two."""
    bare, bare_two, one, two, peaks, cpus, sinks, ceilings = [], [], [], [], [], [], [], []
    stateless_one, stateless_two = [], []  # without the state store
    pids: list[int] = []
    with events.open("rb") as lines:
        count = sum(1 for _ in lines)
    empty = folder / "empty.jsonl"
    empty.write_bytes(b"")
    with sink(pids=pids) as url:
        hook = folder / "hook.json"
        hook.write_text(json.dumps({"destinations": [{"name": "hook", "type": "webhook", "settings": {"url": url}}]}))
        start = measure([str(empty), "--config", str(hook), "--state", str(folder / "empty.db"), "--workers", "1"])[3]
        for run in range(runs):
            bare.append(bare_clients(url, events, CONCURRENCY))
            bare_two.append(bare_clients(url, events, CONCURRENCY, processes=2))
            # Each run with a state store of its own: a shared one would skip, as already
            # delivered, everything the first run sent.
            for workers, rates in ((1, one), (2, two)):
                state = folder / f"state-{run}-{workers}.db"
                before = cpu_seconds(pids[0])
                rate, peak, _, cpu = measure(
                    [str(events), "--config", str(hook), "--state", str(state), "--workers", str(workers)]
                )
                rates.append(rate)
                peaks.append(peak)
                if workers == 1:
                    sinks.append(cpu_seconds(pids[0]) - before)
                    cpus.append(cpu - start)
                    # One process is held by its event loop's thread, busy all along: two could do
                    # at most the two cores' time over what an event costs the machine in all.
                    ceilings.append(2 * (count / rate) / (cpus[-1] + sinks[-1]))
            if state_cost:
                for workers, rates in ((1, stateless_one), (2, stateless_two)):
                    rates.append(measure([str(events), "--config", str(hook), "--no-state", "--workers", str(workers)])[0])
    without = {}
    if state_cost:
        without = {
            "no_state_events_per_s": statistics.median(stateless_one),
            "no_state_two_workers_events_per_s": statistics.median(stateless_two),
            "no_state_two_workers_vs_one": round(
                statistics.median(t / o for t, o in zip(stateless_two, stateless_one, strict=True)), 2
            ),
        }
    return {
        "concurrency": CONCURRENCY,
        "bare_client_events_per_s": round(statistics.median(bare)),
        "live_events_per_s": statistics.median(one),
        "live_vs_bare_client": round(statistics.median(r / b for r, b in zip(one, bare, strict=True)), 2),
        "live_two_workers_events_per_s": statistics.median(two),
        "two_workers_vs_one": round(statistics.median(t / o for t, o in zip(two, one, strict=True)), 2),
        "two_bare_clients_events_per_s": round(statistics.median(bare_two)),
        "two_bare_clients_vs_one": round(statistics.median(t / o for t, o in zip(bare_two, bare, strict=True)), 2),
        "one_process_cpu_us_per_event": round(statistics.median(cpus) / count * 1e6, 1),
        "sink_cpu_us_per_request": round(statistics.median(sinks) / count * 1e6, 1),
        "two_workers_ceiling": round(statistics.median(ceilings), 2),
        "live_peak_mb_per_process": round(max(peaks), 1),
        **without,
    }


if __name__ == "__main__":
    main()
