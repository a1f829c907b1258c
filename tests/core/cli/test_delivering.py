"""Rehearsals are sealed, through real `destkit` processes: `parked run` and `dlq replay` take
--sandbox and then deliver to the sandboxes only; a store of rehearsals is refused without it,
and a store of real deliveries with it. "The real API" here is a sandbox process on loopback
that must never be called."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import DESTKIT, Sandbox

USERS = [f"u-{n}" for n in range(3)]
REDELIVER = {"parked run": ["parked", "run", "--wait"], "dlq replay": ["dlq", "replay", "--code", "PROFILE_NOT_FOUND"]}


def destkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESTKIT, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def real(tmp_path: Path) -> Iterator[Sandbox]:
    """Stands for the destination's real API: every test checks it was never called."""
    sandbox = Sandbox(folder=tmp_path)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def api_calls(real: Sandbox) -> dict[str, Any]:
    """The calls ``real`` answered, its own inspection endpoints (the tests' reads) left out."""
    requests: dict[str, Any] = real.stats()["requests"]
    return {endpoint: n for endpoint, n in requests.items() if not endpoint.startswith("inspect_")}


def write_config(folder: Path, real_url: str, name: str, known: list[str], window: float = 60) -> Path:
    """An Adobe Target config whose real base URL is ``real_url``; its sandbox knows ``known``."""
    entry: dict[str, Any] = {
        "name": "target",
        "type": "adobe-target",
        "settings": {"client_code": "acme", "base_url": real_url},
        "sandbox": {"profiles": [{"mbox3rdPartyId": user, "attributes": {}} for user in known]},
        "parking": {"schedule": [0.1], "window": window},
        "subscriptions": [{"name": "profiles", "action": "update_profile", "mapping": {"traits": {"@path": "$.traits"}}}],
    }
    path = folder / name
    path.write_text(json.dumps({"destinations": [entry]}))
    return path


def rehearse(folder: Path, real_url: str, window: float = 60) -> str:
    """A sandboxed replay whose events are all parked (its sandbox knows no profile); the store it used."""
    events = folder / "events.jsonl"
    events.write_text(
        "".join(json.dumps({"type": "identify", "messageId": f"m-{u}", "userId": u, "traits": {"a": 1}}) + "\n" for u in USERS)
    )
    state = str(folder / "rehearsal.db")
    config = write_config(folder, real_url, "unknown.json", [], window)
    result = destkit("replay", str(events), "--config", str(config), "--sandbox", "--state", state, "-q")
    assert result.returncode == 1 and f"parked={len(USERS)}" in result.stdout, result.stdout + result.stderr
    return state


@pytest.mark.parametrize("command", list(REDELIVER))
def test_a_store_of_rehearsals_is_refused_without_sandbox(tmp_path: Path, real: Sandbox, command: str) -> None:
    state = rehearse(tmp_path, real.url)
    config = write_config(tmp_path, real.url, "known.json", USERS)
    result = destkit(*REDELIVER[command], "--config", str(config), "--state", state)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "holds rehearsals" in result.stderr and "run with --sandbox" in result.stderr
    assert api_calls(real) == {}


@pytest.mark.parametrize("command", list(REDELIVER))
def test_a_store_of_real_deliveries_is_refused_with_sandbox(tmp_path: Path, real: Sandbox, command: str) -> None:
    state = str(tmp_path / "real.db")
    config = write_config(tmp_path, "http://127.0.0.1:9", "known.json", USERS)
    (tmp_path / "none.jsonl").write_text("")
    assert destkit("replay", str(tmp_path / "none.jsonl"), "--config", str(config), "--state", state).returncode == 0
    result = destkit(*REDELIVER[command], "--config", str(config), "--state", state, "--sandbox")
    assert result.returncode == 2 and "holds real deliveries" in result.stderr, result.stdout + result.stderr


def test_parked_run_with_sandbox_delivers_a_rehearsal_to_the_sandbox(tmp_path: Path, real: Sandbox) -> None:
    state = rehearse(tmp_path, real.url)
    config = write_config(tmp_path, real.url, "known.json", USERS)  # the profiles are visible now
    result = destkit("parked", "run", "--wait", "--sandbox", "--config", str(config), "--state", state)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"delivered={len(USERS)}" in result.stdout and "still parked: 0" in result.stdout
    assert api_calls(real) == {}


def test_dlq_replay_with_sandbox_delivers_a_rehearsal_to_the_sandbox(tmp_path: Path, real: Sandbox) -> None:
    state = rehearse(tmp_path, real.url, window=0.2)
    unknown = tmp_path / "unknown.json"
    given_up = destkit("parked", "run", "--wait", "--sandbox", "--config", str(unknown), "--state", state)
    assert given_up.returncode == 1 and f"dead_lettered={len(USERS)}" in given_up.stdout, given_up.stdout + given_up.stderr
    config = write_config(tmp_path, real.url, "known.json", USERS)
    result = destkit("dlq", "replay", "--code", "PROFILE_NOT_FOUND", "--sandbox", "--config", str(config), "--state", state)
    assert result.returncode == 0 and f"delivered={len(USERS)}" in result.stdout, result.stdout + result.stderr
    assert api_calls(real) == {}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "Ctrl-C"])
def test_parked_run_stops_on_a_signal_with_its_summary(tmp_path: Path, real: Sandbox, signum: int, code: int) -> None:
    state = rehearse(tmp_path, real.url)
    unknown = tmp_path / "unknown.json"  # never delivered: --wait would go on for the whole window
    process = subprocess.Popen(
        [DESTKIT, "parked", "run", "--wait", "--sandbox", "--config", str(unknown), "--state", state],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == code, out + err
    name = signal.Signals(signum).name
    assert f"still parked: {len(USERS)} (stopped by {name})" in out and "Traceback" not in err
