"""What the ledger costs a live replay in one process and in two: where ``--workers 2`` loses.

The same live replays as ``benchmarks/replay.py`` (200,000 events to a loopback webhook, one
process and two, alternating run by run), with the SQLite store's two calls on every event's
path (``delivered``, the ledger looked up for a chunk of lines; ``apply``, a group of
settlements committed) taken apart, for measurement only:

- ``store``: as destkit runs;
- ``thread_only``: both calls still handed to the store's thread and back, doing no SQLite work;
- ``no_store_work``: both return at once on the event loop (no thread, no SQLite);
- ``no_state``: ``--no-state``, nothing settled at all.

Each variant's ``two_vs_one`` is the median of its runs' two-process rate over one-process
rate. The variants that skip work are not ways to run destkit: the ledger is what keeps a
replay from sending an event twice.

    python benchmarks/ledger_cost.py [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import sink
from replay import make_file

VARIANTS = ("store", "thread_only", "no_store_work", "no_state")


def _destkit_with(variant: str) -> None:
    """Run destkit's command line with the store's calls replaced as ``variant`` says."""
    from destkit.state.sqlite import SQLiteStore

    if variant == "thread_only":

        async def delivered_on_thread(self: Any, keys: Any) -> set[Any]:
            return await self._run(set)

        async def apply_on_thread(self: Any, operations: Any) -> None:
            if operations:
                await self._run(lambda: None)

        SQLiteStore.delivered = delivered_on_thread  # type: ignore[method-assign]
        SQLiteStore.apply = apply_on_thread  # type: ignore[method-assign]
    elif variant == "no_store_work":

        async def delivered_at_once(self: Any, keys: Any) -> set[Any]:
            return set()

        async def apply_at_once(self: Any, operations: Any) -> None:
            return None

        SQLiteStore.delivered = delivered_at_once  # type: ignore[method-assign]
        SQLiteStore.apply = apply_at_once  # type: ignore[method-assign]
    from destkit.cli import main

    sys.argv = ["destkit", *sys.argv[3:]]
    main()


def _rate(variant: str, events: Path, hook: Path, state: Path, workers: int) -> float:
    store = ["--no-state"] if variant == "no_state" else ["--state", str(state)]
    command = [sys.executable, __file__, "--as-destkit", variant, "replay", str(events), "--config", str(hook), *store]
    done = subprocess.run([*command, "--workers", str(workers), "-q"], capture_output=True, text=True, check=False)
    summary = next((line for line in done.stdout.splitlines() if line.startswith("replay events=")), None)
    if done.returncode not in (0, 1) or summary is None:
        raise SystemExit(f"replay failed ({done.returncode}): {done.stderr}")
    return float(summary.split("rate=")[1].split("/")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates: dict[tuple[str, int], list[float]] = {(variant, w): [] for variant in VARIANTS for w in (1, 2)}
    with tempfile.TemporaryDirectory() as name, sink() as url:
        folder = Path(name)
        events = make_file(args.events, folder)
        hook = folder / "hook.json"
        hook.write_text(json.dumps({"destinations": [{"name": "hook", "type": "webhook", "settings": {"url": url}}]}))
        for run in range(args.runs):
            for variant in VARIANTS:
                for workers in (1, 2):
                    state = folder / f"state-{variant}-{run}-{workers}.db"
                    rates[(variant, workers)].append(_rate(variant, events, hook, state, workers))
    results: dict[str, object] = {"events": args.events, "runs": args.runs}
    for variant in VARIANTS:
        one, two = rates[(variant, 1)], rates[(variant, 2)]
        results[variant] = {
            "one_process_events_per_s": statistics.median(one),
            "two_processes_events_per_s": statistics.median(two),
            "two_vs_one": round(statistics.median(t / o for t, o in zip(two, one, strict=True)), 2),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--as-destkit":
        _destkit_with(sys.argv[2])
    else:
        main()
