"""destkit replay on a large file: events/s and peak memory, as a user runs it (a real process).

- dry run: 200,000 realistic events (examples/generate_events.py --large) through the Adobe
  Target example config with --dry-run (every request built and printed to /dev/null);
- live: the same file to a webhook on 127.0.0.1 (a minimal server in its own process), every
  event posted, with the state store (ledger and all) as replay keeps it by default;
- memory: the dry run on files of different sizes, to show it does not grow with the file.

Each figure is the median of the runs; peak memory is the replay process's own maximum RSS.

    python benchmarks/replay.py [--events 200000] [--runs 3] [--skip-live]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESTKIT = str(Path(sys.executable).with_name("destkit"))


def make_file(count: int, folder: Path) -> Path:
    path = folder / f"events-{count}.jsonl"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "generate_events.py"), "--large", str(count), str(path)], check=True
        )
    return path


def measure(args: list[str]) -> tuple[float, float, str]:
    """Run destkit replay; return (events/s it reports, peak RSS in MB of that process, summary)."""
    stdout = subprocess.DEVNULL if "--dry-run" in args else subprocess.PIPE
    process = subprocess.Popen([DESTKIT, "replay", *args, "-q"], stdout=stdout, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    out = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    summary = (err if "--dry-run" in args else out).strip().splitlines()[0]
    if process.returncode not in (0, 1):
        raise SystemExit(f"replay failed ({process.returncode}): {err}")
    rate = float(re.search(r"rate=(\d+)/s", summary).group(1))  # type: ignore[union-attr]
    return rate, usage.ru_maxrss / 1024, summary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-live", action="store_true")
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
            port = free_port()
            server = subprocess.Popen([sys.executable, "-c", "from destkit.testing.server import main; main()", str(port)])
            try:
                time.sleep(1.0)
                hook = Path(folder) / "hook.json"
                entry = {"name": "hook", "type": "webhook", "settings": {"url": f"http://127.0.0.1:{port}/in"}}
                hook.write_text(json.dumps({"destinations": [entry]}))
                # Each run with a state store of its own: a shared one would skip, as already
                # delivered, everything the first run sent.
                live = [
                    measure([str(big), "--config", str(hook), "--state", str(Path(folder) / f"state-{run}.db")])
                    for run in range(args.runs)
                ]
            finally:
                server.terminate()
                server.wait(10)
            results["live_events_per_s"] = statistics.median(r[0] for r in live)
            results["live_peak_mb"] = round(max(r[1] for r in live), 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
