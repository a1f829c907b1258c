"""The durable delivery guarantees, with real processes: the sandbox, destkit, a SQLite file."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import DESTKIT, Sandbox, children_of, wait_for_exit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


def write_config(folder: Path, url: str, action: str = "update_profile", **destination: Any) -> Path:
    entry = {
        "name": "target",
        "type": "adobe-target",
        "settings": {"client_code": "acme", "base_url": url},
        "subscriptions": [{"name": "profiles", "action": action, "mapping": {"traits": {"@path": "$.traits"}}}],
        **destination,
    }
    path = folder / "config.json"
    path.write_text(json.dumps({"runtime": {"concurrency": 8}, "destinations": [entry]}))
    return path


def write_events(folder: Path, count: int, prefix: str = "user") -> Path:
    path = folder / "events.jsonl"
    with open(path, "w") as out:
        for n in range(count):
            event = {"type": "identify", "messageId": f"m-{n}", "userId": f"{prefix}-{n}", "traits": {"n": n}}
            out.write(json.dumps(event) + "\n")
    return path


def replay(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESTKIT, "replay", *args, "-q"], capture_output=True, text=True, timeout=timeout)


def test_a_replay_killed_halfway_and_run_again_delivers_everything_once(folder: Path) -> None:
    count = 400
    sandbox = Sandbox("--latency-ms", "15", "--seed", "1", profiles=[f"user-{n}" for n in range(count)], folder=folder)
    try:
        config, events, state = write_config(folder, sandbox.url), write_events(folder, count), folder / "state.db"
        one_process = [DESTKIT, "replay", str(events), "--config", str(config), "--state", str(state), "--workers", "1", "-q"]
        first = subprocess.Popen(one_process)
        while sandbox.stats()["requests"].get("profile_update", {}).get("200", 0) < count // 2:
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        updated_at_kill = sandbox.stats()["requests"]["profile_update"]["200"]
        assert updated_at_kill < count  # it really was halfway
        with closing(sqlite3.connect(state)) as db:  # what the ledger had committed when the process died
            marked = {row[0] for row in db.execute("SELECT message_id FROM ledger")}

        second = replay(str(events), "--config", str(config), "--state", str(state))
        assert second.returncode == 0, second.stdout + second.stderr
        known = re.search(r"already_delivered=(\d+)", second.stdout)
        assert known is not None and int(known.group(1)) == len(marked)  # the ledger remembered the first run
        assert len(marked) >= updated_at_kill - 8 - 24

        updates = [sandbox.profile(f"user-{n}")["updates"] for n in range(count)]  # type: ignore[index]
        assert all(u >= 1 for u in updates)  # every event delivered
        # Sent twice only if its mark was not committed at the kill: in flight (concurrency 8), or
        # settled in the few milliseconds of a commit group not yet in the store.
        twice = {f"m-{n}" for n, u in enumerate(updates) if u > 1}
        assert not twice & marked, "a delivery the ledger had recorded was sent again"
        assert len(twice) <= 8 + 24, f"{len(twice)} deliveries sent again"
    finally:
        sandbox.stop()


def test_the_processes_of_a_replay_whose_parent_was_killed_stop_on_their_own(folder: Path) -> None:
    count = 3000
    sandbox = Sandbox("--latency-ms", "15", "--seed", "1", profiles=[f"user-{n}" for n in range(count)], folder=folder)
    try:
        config, events, state = write_config(folder, sandbox.url), write_events(folder, count), folder / "state.db"
        first = subprocess.Popen(
            [DESTKIT, "replay", str(events), "--config", str(config), "--state", str(state), "--workers", "2", "-q"]
        )
        while sandbox.stats()["requests"].get("profile_update", {}).get("200", 0) < 200:
            time.sleep(0.02)
        shares = [pid for pid in children_of(first.pid) if b"replay" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(shares) == 2
        os.kill(first.pid, signal.SIGKILL)  # it can forward nothing: each share must see it is gone
        first.wait(10)
        for share in shares:
            assert wait_for_exit(share, timeout=15), f"share {share} still running after its parent was killed"
        delivered = sandbox.stats()["requests"]["profile_update"]["200"]
        assert delivered < count  # they stopped as on SIGTERM (what was in flight finished), not at the end
        with closing(sqlite3.connect(state)) as db:
            assert db.execute("SELECT count(*) FROM ledger").fetchone()[0] <= delivered
    finally:
        sandbox.stop()


def test_a_fault_storm_ends_with_every_event_delivered_parked_or_dead(folder: Path) -> None:
    count = 2000
    sandbox = Sandbox(
        "--fault-rate", "0.2", "--fault-retry-after", "0.05", "--latency-ms", "2", "--seed", "7",
        profiles=[f"user-{n}" for n in range(count)], folder=folder,
    )  # fmt: skip
    try:
        retry = {"max_attempts": 3, "initial_delay": 0.01, "max_delay": 0.05}
        config = write_config(folder, sandbox.url, retry=retry)
        report = folder / "report.json"
        result = replay(
            str(write_events(folder, count)), "--config", str(config), "--state", str(folder / "s.db"), "--report", str(report)
        )
        summary = json.loads(report.read_text())["summary"]
        outcomes = summary["outcomes"]
        assert set(outcomes) <= {"delivered", "parked", "dead_lettered"}, outcomes
        assert sum(outcomes.values()) == count == summary["events"]
        assert outcomes["delivered"] > count * 0.9
        assert outcomes.get("parked", 0) > 0  # 20% faults on two calls per event: some ran out of fast retries
        assert result.returncode == 1  # parked events are not delivered yet
        with sqlite3.connect(folder / "s.db") as db:
            parked = db.execute("SELECT COUNT(*) FROM parked").fetchone()[0]
            dead = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
            ledger = db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
        assert (ledger, parked, dead) == (outcomes["delivered"], outcomes.get("parked", 0), outcomes.get("dead_lettered", 0))
    finally:
        sandbox.stop()


def test_profile_not_found_is_parked_then_delivered_once_the_profile_is_visible(folder: Path) -> None:
    # The replay must come within the delay: long enough for a loaded machine, short enough to wait out.
    sandbox = Sandbox("--visibility-delay", "6", folder=folder)
    try:
        for n in range(5):  # the web integration creates the profiles just before the events arrive
            httpx.post(
                f"{sandbox.url}/rest/v1/delivery",
                params={"client": "acme", "sessionId": f"s{n}"},
                json={"id": {"thirdPartyId": f"new-{n}"}},
            )
        config = write_config(folder, sandbox.url, parking={"schedule": [1], "window": 60})
        state = folder / "state.db"
        events = str(write_events(folder, 5, prefix="new"))
        first = replay(events, "--config", str(config), "--state", str(state), "--workers", "1")
        assert first.returncode == 1 and "parked=5" in first.stdout, first.stdout

        listed = subprocess.run([DESTKIT, "parked", "list", "--state", str(state), "--json"], capture_output=True, text=True)
        assert [p["code"] for p in json.loads(listed.stdout)["parked"]] == ["PROFILE_NOT_FOUND"] * 5

        started = time.monotonic()
        run = subprocess.run(
            [DESTKIT, "parked", "run", "--wait", "--config", str(config), "--state", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "delivered=5" in run.stdout and "still parked: 0" in run.stdout
        assert time.monotonic() - started < 30
        assert all(sandbox.profile(f"new-{n}")["attributes"] == {"n": str(n)} for n in range(5))  # type: ignore[index]
    finally:
        sandbox.stop()


def test_past_the_window_a_parked_delivery_becomes_a_dead_letter_that_can_be_replayed(folder: Path) -> None:
    sandbox = Sandbox(folder=folder)
    try:
        config = write_config(folder, sandbox.url, parking={"schedule": [0.2], "window": 0.5})
        state = folder / "state.db"
        replay(str(write_events(folder, 2, prefix="ghost")), "--config", str(config), "--state", str(state))
        run = subprocess.run(
            [DESTKIT, "parked", "run", "--wait", "--config", str(config), "--state", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1 and "dead_lettered=2" in run.stdout, run.stdout
        listed = json.loads(
            subprocess.run([DESTKIT, "dlq", "list", "--state", str(state), "--json"], capture_output=True, text=True).stdout
        )
        letters = listed["dead_letters"]
        assert [d["error"]["code"] for d in letters] == ["PROFILE_NOT_FOUND"] * 2
        assert "gave up after" in letters[0]["error"]["message"] and "parking window" in letters[0]["error"]["message"]
        shown = json.loads(
            subprocess.run(
                [DESTKIT, "dlq", "show", str(letters[0]["id"]), "--state", str(state)], capture_output=True, text=True
            ).stdout
        )
        assert shown["event"]["messageId"] == letters[0]["message_id"] and shown["event"]["userId"].startswith("ghost-")

        for n in range(2):  # the profiles appear; the dead letters can now be delivered
            httpx.post(
                f"{sandbox.url}/rest/v1/delivery",
                params={"client": "acme", "sessionId": f"g{n}"},
                json={"id": {"thirdPartyId": f"ghost-{n}"}},
            )
        again = subprocess.run(
            [DESTKIT, "dlq", "replay", "--code", "PROFILE_NOT_FOUND", "--config", str(config), "--state", str(state)],
            capture_output=True,
            text=True,
        )
        assert again.returncode == 0 and "delivered=2" in again.stdout, again.stdout + again.stderr
        empty = json.loads(
            subprocess.run([DESTKIT, "dlq", "list", "--state", str(state), "--json"], capture_output=True, text=True).stdout
        )
        assert empty["dead_letters"] == []
    finally:
        sandbox.stop()


def test_two_replays_on_one_state_file_do_not_corrupt_it(folder: Path) -> None:
    count = 600
    sandbox = Sandbox(profiles=[f"user-{n}" for n in range(count)], folder=folder)
    try:
        config, state = write_config(folder, sandbox.url), folder / "state.db"
        halves = []
        for half in range(2):
            path = folder / f"half-{half}.jsonl"
            with open(path, "w") as out:
                for n in range(half, count, 2):
                    out.write(
                        json.dumps({"type": "identify", "messageId": f"m-{n}", "userId": f"user-{n}", "traits": {"n": n}}) + "\n"
                    )
            halves.append(path)
        processes = [
            subprocess.Popen(
                [DESTKIT, "replay", str(path), "--config", str(config), "--state", str(state), "-q"], stdout=subprocess.DEVNULL
            )
            for path in [*halves, halves[0]]  # the first half twice, at the same time
        ]
        assert all(process.wait(120) == 0 for process in processes)
        with sqlite3.connect(state) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == count
    finally:
        sandbox.stop()
