"""Secrets a destination echoes back never leave destkit: a real replay, report, dead letters."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from destkit.testing import LoopbackServer, RecordedRequest, Reply, make_event
from tests.processes import DESTKIT

TOKEN = "tok-9f8e7d6c5b4a"
HOOK_SECRET = "XyZ1234567890abcdefGHIJ"


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([DESTKIT, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    return done.stdout + done.stderr


def _everything_written(tmp_path: Path, url: str, headers: dict[str, str], env: dict[str, str]) -> str:
    """What a replay of two events prints with --verbose, its report, and what the dead-letter
    and parked commands print afterwards."""
    entry: dict[str, Any] = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": url, "headers": headers},
        "retry": {"max_attempts": 1},
        "parking": {"schedule": [1], "window": 0.001},  # past the window at once: a dead letter
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"destinations": [entry]}))
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(make_event("track", userId=f"u{i}", event="Paid")) + "\n" for i in range(2)))
    report, state = tmp_path / "report.json", str(tmp_path / "state.db")
    output = _run("replay", str(events), "--config", str(config), "--verbose", "--report", str(report), "--state", state, env=env)
    letters = json.loads(_run("dlq", "list", "--json", "--state", state))["dead_letters"]
    assert len(letters) == 2, output  # the failures were kept, so their text is checked below
    shown = [_run("dlq", "show", str(letter["id"]), "--state", state) for letter in letters]
    listed = _run("dlq", "list", "--state", state) + _run("parked", "list", "--state", state)
    return "\n".join([output, report.read_text(), json.dumps(letters), *shown, listed])


def test_a_bearer_token_an_api_echoes_is_masked_everywhere(tmp_path: Path) -> None:
    def refuse(request: RecordedRequest) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return Reply(401, {"error": f"invalid token {token}"})

    with LoopbackServer(refuse) as server:
        written = _everything_written(tmp_path, server.url, {"Authorization": "Bearer ${HOOK_TOKEN}"}, {"HOOK_TOKEN": TOKEN})
    assert "INVALID_AUTHENTICATION" in written and "invalid token ***" in written
    assert TOKEN not in written and quote(TOKEN, safe="") not in written


def test_a_secret_webhook_path_is_masked_everywhere(tmp_path: Path) -> None:
    with LoopbackServer(lambda request: Reply(500, {"error": f"no hook at {request.path}"})) as server:
        url = f"{server.url}/services/T0001/B0002/{HOOK_SECRET}"
        written = _everything_written(tmp_path, url, {}, {})
    assert "POST *** answered 500" in written
    assert HOOK_SECRET not in written
