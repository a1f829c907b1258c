"""destkit replay as a real process: several worker processes, stops by signal, checks made first."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from destkit.shards import _Forwarder, start_method
from destkit.testing import LoopbackServer, RecordedRequest, Reply
from tests.processes import DESTKIT, children_of

PEOPLE, EACH = 40, 15


def write_events(folder: Path) -> Path:
    path = folder / "events.jsonl"
    with open(path, "w") as out:
        for n in range(EACH):
            for p in range(PEOPLE):
                event = {"type": "track", "messageId": f"m-{p}-{n}", "userId": f"u{p}", "event": "Step", "properties": {"n": n}}
                out.write(json.dumps(event) + "\n")
    return path


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps({"destinations": [{"name": "hook", "type": "webhook", "settings": {"url": url}}]}))
    return path


def arrivals(server: LoopbackServer) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for request in server.requests:
        body = request.json()
        seen[body["userId"]].append(body["properties"]["n"])
    return seen


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([DESTKIT, "replay", *args, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_requests(server: LoopbackServer, count: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while len(server.requests) < count and time.monotonic() < end:
        time.sleep(0.02)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_two_processes_deliver_everything_once_each_persons_events_in_order(tmp_path: Path, loop: str) -> None:
    with LoopbackServer() as server:
        report = tmp_path / "report.json"
        args = [str(write_events(tmp_path)), "--config", str(write_config(tmp_path, server.url)), "--workers", "2"]
        result = subprocess.run(
            [DESTKIT, "replay", *args, "--report", str(report), "--loop", loop], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        seen = arrivals(server)
    assert all(numbers == list(range(EACH)) for numbers in seen.values()) and len(seen) == PEOPLE
    data = json.loads(report.read_text())
    assert data["summary"]["events"] == PEOPLE * EACH and data["summary"]["workers"] == 2 and data["summary"]["complete"]
    assert sorted(r["line"] for r in data["results"]) == list(range(1, PEOPLE * EACH + 1))
    assert f"replay events={PEOPLE * EACH}" in result.stdout


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_replay_writes_its_summary_and_report_and_resumes(tmp_path: Path, stop: signal.Signals, code: int) -> None:
    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(0.05)
        return Reply(200, {})

    with LoopbackServer(slow) as server:
        events, config = write_events(tmp_path), write_config(tmp_path, server.url)
        state, report = tmp_path / "state.db", tmp_path / "report.json"
        common = [str(events), "--config", str(config), "--state", str(state), "--concurrency", "4"]
        replay = start(*common, "--workers", "2", "--report", str(report))
        wait_for_requests(server, 60)
        os.kill(replay.pid, stop)
        out, err = replay.communicate(timeout=60)
        assert replay.returncode == code, err
        assert "replay events=" in out and "resume with --from-line" in err and "Traceback" not in err
        summary: dict[str, Any] = json.loads(report.read_text())["summary"]
        assert summary["complete"] is False and summary["stopped_by"] == stop.name
        resume = summary["resume_from_line"]
        assert 1 < resume <= PEOPLE * EACH
        again = subprocess.run([DESTKIT, "replay", *common, "--from-line", str(resume), "-q"], capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        seen = arrivals(server)
    assert {(p, n) for p, numbers in seen.items() for n in numbers} == {(f"u{p}", n) for p in range(PEOPLE) for n in range(EACH)}
    assert sum(map(len, seen.values())) - PEOPLE * EACH <= 2 * 4  # resent: at most what was in flight


def test_a_second_ctrl_c_stops_at_once_and_keeps_what_was_delivered(tmp_path: Path) -> None:
    released = threading.Event()  # set as the test ends, so that the server can stop at once

    async def answers_a_few(request: RecordedRequest) -> Reply:
        while len(server.requests) > 20 and not released.is_set():
            await asyncio.sleep(0.05)  # answers nothing more while the test runs
        return Reply(200, {})

    with LoopbackServer(answers_a_few) as server, contextlib.ExitStack() as stack:
        stack.callback(released.set)
        state = tmp_path / "state.db"
        args = [str(write_events(tmp_path)), "--config", str(write_config(tmp_path, server.url)), "--state", str(state)]
        replay = start(*args, "--workers", "1", "--grace", "60")
        wait_for_requests(server, 25)
        replay.send_signal(signal.SIGINT)
        time.sleep(0.5)
        began = time.monotonic()
        replay.send_signal(signal.SIGINT)
        _, err = replay.communicate(timeout=30)
        assert replay.returncode == 130 and time.monotonic() - began < 10, err
        status = json.loads(
            subprocess.run([DESTKIT, "state", "status", "--state", str(state), "--json"], capture_output=True).stdout
        )
        assert status["ledger"] >= 20  # what was delivered before the stop is in the ledger


@pytest.mark.parametrize(
    ("report", "words"),
    [
        ("missing/r.json", "does not exist"),
        (".", "is a directory"),
        ("/proc/r.json", "cannot write there"),  # a folder that takes no files, whoever runs the test
    ],
)
def test_a_report_that_cannot_be_written_stops_the_replay_before_anything_is_sent(
    tmp_path: Path, report: str, words: str
) -> None:
    with LoopbackServer() as server:
        args = [str(write_events(tmp_path)), "--config", str(write_config(tmp_path, server.url))]
        result = subprocess.run([DESTKIT, "replay", *args, "--report", report], capture_output=True, text=True)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert server.requests == []


def test_standard_input_is_read_by_one_process(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/in")
    result = subprocess.run(
        [DESTKIT, "replay", "-", "--config", str(config), "--workers", "2"], capture_output=True, text=True, input=""
    )
    assert result.returncode == 2 and "standard input can be read by one process only" in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are forked on Linux only")
def test_the_processes_of_a_replay_are_forked_not_started_afresh(tmp_path: Path) -> None:
    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(0.05)
        return Reply(200, {})

    with LoopbackServer(slow) as server:
        args = [str(write_events(tmp_path)), "--config", str(write_config(tmp_path, server.url)), "--no-state"]
        replay = start(*args, "--workers", "2", "--concurrency", "2")
        wait_for_requests(server, 4)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children_of(replay.pid)]
        replay.terminate()
        replay.communicate(timeout=30)
    shares = [command for command in commands if b"replay" in command]
    assert len(shares) == 2, commands  # a spawned process would run "python -c ... spawn_main ..." instead


def test_a_replay_spawns_its_processes_while_another_thread_runs() -> None:
    assert start_method() in ("fork", "spawn")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert start_method() == "spawn"  # forking could copy a lock that thread holds
    finally:
        release.set()
        other.join()


def _on_a_terminal(args: list[str], stdout: Any = None, succeeds: bool = True) -> bytes:
    """What a replay shows on a terminal (its standard error, and its standard output unless given)."""
    main, terminal = pty.openpty()
    replay = subprocess.Popen([DESTKIT, "replay", *args], stdout=stdout or terminal, stderr=terminal)
    os.close(terminal)
    shown = bytearray()
    with contextlib.suppress(OSError):  # the terminal closes with the process
        while chunk := os.read(main, 65536):
            shown += chunk
    os.close(main)
    assert (replay.wait(timeout=60) == 0) == succeeds
    return bytes(shown)


def _dry_run_files(folder: Path, count: int) -> list[str]:
    events = folder / "events.jsonl"
    lines = (
        json.dumps({"type": "track", "userId": f"u{n % 50}", "event": "Step", "properties": {"n": n}}) + "\n"
        for n in range(count)
    )
    events.write_text("".join(lines))
    return [str(events), "--config", str(write_config(folder, "http://127.0.0.1:9/in")), "--dry-run"]


def test_a_dry_run_on_a_terminal_prints_its_requests_whole_above_the_progress_line(tmp_path: Path) -> None:
    shown = _on_a_terminal(_dry_run_files(tmp_path, 20_000))
    # Each request starts on a line of its own, the progress line cleared first rather than
    # written over, and stays one line, its body whole, however narrow the terminal.
    requests = [line.rpartition(b"\x1b[2K")[2] for line in shown.split(b"\r\n") if b"POST http://127.0.0.1:9/in" in line]
    assert len(requests) == 20_000 and b"events" in shown
    assert all(line.startswith(b"POST") for line in requests)
    assert sorted(json.loads(line.partition(b"body=")[2])["properties"]["n"] for line in requests) == list(range(20_000))
    # The progress line is drawn again after a batch of requests, not after each of them.
    assert shown.count(b"\x1b[2K") < 2_000


def test_with_its_output_in_a_file_a_dry_run_shows_its_progress_on_standard_error(tmp_path: Path) -> None:
    with open(tmp_path / "requests.txt", "wb") as requests:
        shown = _on_a_terminal(_dry_run_files(tmp_path, 2_000), stdout=requests)
    assert b"starting" in shown  # the progress line, on the terminal
    printed = (tmp_path / "requests.txt").read_bytes().split(b"\n")
    assert printed.pop() == b""  # the file ends with the last request's line, and holds nothing else
    assert len(printed) == 2_000 and all(line.startswith(b"POST http://127.0.0.1:9/in") for line in printed)


@pytest.mark.skipif(start_method() != "fork", reason="the processes' standard error is relayed when they are forked")
def test_what_the_processes_log_goes_above_the_progress_line(tmp_path: Path) -> None:
    with LoopbackServer(lambda request: Reply(400, {"error": "refused"})) as server:
        args = [str(write_events(tmp_path)), "--config", str(write_config(tmp_path, server.url + "/in")), "--no-state"]
        shown = _on_a_terminal([*args, "--workers", "2", "--log-level", "info"], succeeds=False)
    logged = [line.rpartition(b"\x1b[2K")[2] for line in shown.split(b"\r\n") if b"delivery failed" in line]
    assert len(logged) >= 2  # the first failure of each process at least (the rest are counted in one line)
    assert all(line.startswith(b"20") for line in logged)  # each from its time on, nothing of the progress line before it


@pytest.mark.skipif(start_method() != "fork", reason="the processes' output is relayed when they are forked")
def test_a_dry_run_in_two_processes_prints_its_requests_whole_above_the_progress_line(tmp_path: Path) -> None:
    shown = _on_a_terminal([*_dry_run_files(tmp_path, 2_000), "--workers", "2"])
    requests = [line.rpartition(b"\x1b[2K")[2] for line in shown.split(b"\r\n") if b"POST http://127.0.0.1:9/in" in line]
    assert sorted(json.loads(line.partition(b"body=")[2])["properties"]["n"] for line in requests) == list(range(2_000))
    assert all(line.startswith(b"POST") for line in requests)


COUNTING = """
import signal, sys, time
seen = []
for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, lambda number, frame: seen.append(number))
print("ready", flush=True)
time.sleep(2)
print(" ".join(signal.Signals(number).name for number in seen), flush=True)
"""


class _Running:
    """A started process as the forwarder sees one."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.pid: int | None = None  # as multiprocessing has it until the process is started
        self.popen = popen

    def is_alive(self) -> bool:
        return self.popen.poll() is None


def test_a_stop_signal_that_comes_while_the_processes_start_reaches_each_of_them_once() -> None:
    popens = [subprocess.Popen([sys.executable, "-c", COUNTING], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for popen in popens:
        assert popen.stdout is not None and popen.stdout.readline().strip() == "ready"
    running = [_Running(popen) for popen in popens]
    forwarder = _Forwarder(running)
    forwarder(signal.SIGTERM, None)  # the processes are still starting: held
    for process in running:
        process.pid = process.popen.pid
    forwarder.started()
    forwarder(signal.SIGINT, None)  # from now on at once
    received = [sorted(popen.communicate(timeout=10)[0].split()) for popen in popens]  # pending ones come in any order
    assert received == [["SIGINT", "SIGTERM"]] * 2 and forwarder.stopped_by == [signal.SIGTERM, signal.SIGINT]
