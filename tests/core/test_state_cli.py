"""The state store from the command line, as real `destkit` processes: status, migrate, prune,
--state in either form, and the checks `destkit serve` makes before announcing itself."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from destkit.state import MarkDelivered, open_store
from tests.postgres import PostgresServer
from tests.processes import DESTKIT, Running, free_port

KEY = "wk-cli-0123456789"


def destkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESTKIT, *args], capture_output=True, text=True, timeout=60, env=env)


def write_config(folder: Path) -> Path:
    config = {
        "serve": {"write_keys": [KEY]},
        "state": {"lease_seconds": 5},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/in"}}],
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


async def mark_old_and_new(location: str) -> None:
    async with open_store(location) as store:
        await store.apply(
            [MarkDelivered(("old", "d", "s"), time.time() - 90 * 86400), MarkDelivered(("new", "d", "s"), time.time())]
        )


def test_status_migrate_and_prune_on_either_backend(state_location: str) -> None:
    migrated = destkit("state", "migrate", "--state", state_location)
    assert migrated.returncode == 0 and "schema version" in migrated.stdout
    asyncio.run(mark_old_and_new(state_location))
    status = json.loads(destkit("state", "status", "--state", state_location, "--json").stdout)
    assert (status["ledger"], status["queue_depth"], status["partitions"]) == (2, 0, 256)
    pruned = destkit("state", "prune", "--state", state_location, "--before", "2000-01-01")
    assert pruned.returncode == 0 and "forgot 0 deliveries" in pruned.stdout
    month_ago = time.strftime("%Y-%m-%d", time.localtime(time.time() - 30 * 86400))
    assert "forgot 1 deliveries" in destkit("state", "prune", "--state", state_location, "--before", month_ago).stdout
    text = destkit("state", "status", "--state", state_location).stdout
    assert "ledger         1 deliveries recorded" in text
    assert "pw-" not in text and "password" not in text


def test_destkit_state_names_the_default_store(tmp_path: Path) -> None:
    location = str(tmp_path / "from-env.db")
    env = {"PATH": "/usr/bin:/bin", "DESTKIT_STATE": location}
    assert destkit("state", "migrate", env=env).returncode == 0
    assert Path(location).is_file()


@pytest.mark.parametrize("command", [["dlq", "list"], ["parked", "list"], ["state", "status"]])
def test_reading_a_store_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    result = destkit(*command, "--state", str(tmp_path / "typo.db"))
    assert result.returncode == 2 and "no such state store" in result.stderr
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("mysql://u@h/db", "not a state store destkit knows"),
        ("postgresql://u:secret-pw@127.0.0.1:1/db", "cannot reach PostgreSQL"),
    ],
)
def test_a_state_url_that_cannot_be_used_is_one_line_and_exit_2(location: str, words: str) -> None:
    result = destkit("dlq", "list", "--state", location)
    assert result.returncode == 2 and words in result.stderr
    assert "secret-pw" not in result.stderr and "Traceback" not in result.stderr


def test_a_second_service_on_one_sqlite_file_exits_2(tmp_path: Path) -> None:
    config, state = write_config(tmp_path), str(tmp_path / "state.db")
    first = Running("serve", "--config", str(config), "--state", state, log=tmp_path / "first.log", port=free_port())
    try:
        second = destkit("serve", "--config", str(config), "--state", state, "--port", str(free_port()))
        assert second.returncode == 2
        assert "used by another destkit serve" in second.stderr and "destkit serve on" not in second.stderr
    finally:
        first.stop()


def test_several_services_share_one_postgresql_store(tmp_path: Path, postgres: PostgresServer) -> None:
    config, state = write_config(tmp_path), postgres.url()
    services = [
        Running("serve", "--config", str(config), "--state", state, log=tmp_path / f"s{n}.log", port=free_port())
        for n in range(2)
    ]
    try:
        shares: list[int] = []
        for _ in range(60):  # a share moves when its holder next renews (every third of the 5 s lease)
            status = json.loads(destkit("state", "status", "--state", state, "--json").stdout)
            shares = sorted(w["partitions"] for w in status["workers"] if w["role"] == "delivery")
            if shares == [128, 128]:
                break
            time.sleep(0.25)
        assert shares == [128, 128]
    finally:
        for service in services:
            service.stop()


def test_a_taken_port_is_a_usage_error_before_anything_is_announced(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = destkit("serve", "--config", str(write_config(tmp_path)), "--state", str(tmp_path / "s.db"), "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken" in result.stderr
    assert "destkit serve on" not in result.stderr
