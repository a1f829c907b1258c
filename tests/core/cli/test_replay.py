"""destkit replay as a real process: what is refused before the first event."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.processes import DESTKIT

AUDIENCE = {
    "type": "identify",
    "messageId": "m-1",
    "userId": "u-1",
    "traits": {"vip": True},
    "context": {"personas": {"computation_class": "audience", "computation_id": "aud_vip", "computation_key": "vip"}},
}


def write_files(folder: Path) -> tuple[Path, Path]:
    """A Custom Personalization config (it keeps profiles in the state store) and one event for it."""
    config = folder / "config.json"
    entry = {"name": "cp", "type": "custom-personalization", "settings": {"datastream_id": "web"}}
    config.write_text(json.dumps({"destinations": [entry]}))
    events = folder / "events.jsonl"
    events.write_text(json.dumps(AUDIENCE) + "\n")
    return config, events


@pytest.mark.parametrize(("options", "why"), [(["--no-state"], "--no-state"), (["--sandbox"], "--sandbox without --state")])
def test_a_destination_needing_the_state_store_without_one_is_a_config_error(
    tmp_path: Path, options: list[str], why: str
) -> None:
    config, events = write_files(tmp_path)
    report = tmp_path / "report.json"
    result = subprocess.run(
        [DESTKIT, "replay", str(events), "--config", str(config), "--report", str(report), *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"'cp' (custom-personalization) keep their data in the state store, and this run has none ({why})" in result.stderr
    assert result.stdout == "" and not report.exists()  # stopped before the first event


@pytest.mark.parametrize("options", [["--dry-run"], ["--sandbox", "--state", "rehearsal.db"]])
def test_a_destination_needing_the_state_store_runs_where_it_needs_none_or_has_one(tmp_path: Path, options: list[str]) -> None:
    config, events = write_files(tmp_path)
    result = subprocess.run(
        [DESTKIT, "replay", str(events), "--config", str(config), "-q", *options], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "delivered=1" in result.stdout + result.stderr


def replay_webhook(folder: Path, entry: dict[str, Any], *options: str) -> subprocess.CompletedProcess[str]:
    config = folder / "config.json"
    config.write_text(json.dumps({"destinations": [{"name": "hook", "type": "webhook", **entry}]}))
    events = folder / "events.jsonl"
    events.write_text(json.dumps(AUDIENCE) + "\n")
    return subprocess.run(
        [DESTKIT, "replay", str(events), "--config", str(config), "--no-state", *options], capture_output=True, text=True
    )


def test_only_naming_a_near_miss_is_told_the_destination_it_probably_meant(tmp_path: Path) -> None:
    result = replay_webhook(tmp_path, {"settings": {"url": "http://127.0.0.1:9"}}, "--only", "hok")
    assert result.returncode == 2 and "--only names destination(s) hok" in result.stderr
    assert "(did you mean 'hook'?)" in result.stderr


def test_replay_stops_on_the_lines_validate_prints(tmp_path: Path) -> None:
    entry = {"settings": {"url": "http://127.0.0.1:9", "headrs": {}}, "subscriptions": [{"name": "s", "action": "sned"}]}
    result = replay_webhook(tmp_path, entry)
    validated = subprocess.run([DESTKIT, "validate", "--config", str(tmp_path / "config.json")], capture_output=True, text=True)
    errors = [line for line in validated.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "headrs" in errors[0] and "sned" in errors[1], validated.stderr
    assert result.returncode == 2 and result.stderr.splitlines() == errors and result.stdout == ""
