"""destkit replay as a real process: what is refused before the first event."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
