"""examples/hubspot.yaml: valid, checked and replayed against the sandbox by a real destkit process,
with a private app's token and with OAuth2 tokens (renewed at the first call)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.processes import DESTKIT

ROOT = Path(__file__).resolve().parents[3]
CONFIG = str(ROOT / "examples" / "hubspot.yaml")
CREDENTIALS = {
    "private app": {"HUBSPOT_ACCESS_TOKEN": "pat-example-0123456789"},
    "oauth": {
        "HUBSPOT_REFRESH_TOKEN": "rt-example-0123456789",
        "HUBSPOT_CLIENT_ID": "c-1",
        "HUBSPOT_CLIENT_SECRET": "cs-0123456789",
    },
}


def destkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    return subprocess.run([DESTKIT, *args], capture_output=True, text=True, timeout=120, env={**clean, **env})


@pytest.mark.parametrize("credentials", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_the_example_replays_against_the_sandbox(credentials: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = destkit(
        "replay",
        str(ROOT / "examples" / "events.jsonl"),
        "--config",
        CONFIG,
        "--sandbox",
        "--report",
        str(report),
        env=credentials,
    )
    assert result.returncode == 0, result.stderr
    assert "outcome hubspot/contacts delivered=40" in result.stdout
    assert json.loads(report.read_text())["summary"]["outcomes"]["delivered"] == 40
    for secret in credentials.values():
        assert secret not in result.stdout + result.stderr + report.read_text()


@pytest.mark.parametrize("credentials", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_the_example_checks_against_the_sandbox(credentials: dict[str, str]) -> None:
    result = destkit("check", "--config", CONFIG, "--sandbox", env=credentials)
    assert (result.returncode, result.stdout) == (0, "ok      hubspot (hubspot): credentials accepted\n")


def test_the_example_without_credentials_is_a_config_error() -> None:
    result = destkit("validate", "--config", CONFIG, env={})
    assert result.returncode == 2 and "give access_token" in result.stderr


def test_an_unknown_sandbox_option_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "hubspot.yaml"
    config.write_text(
        "destinations:\n"
        "  - {name: h, type: hubspot, settings: {access_token: pat-1}, sandbox: {burts: 3},\n"
        "     subscriptions: [{name: c, action: upsert_contact}]}\n"
    )
    result = destkit("check", "--config", str(config), "--sandbox", env={})
    assert result.returncode == 2 and "sandbox.burts: unknown key (did you mean 'burst'?)" in result.stderr


def test_the_sandbox_command_refuses_a_taken_port_naming_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = destkit("sandbox", "hubspot", "--port", port, "--private-app-token", "pat-1", env={})
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
