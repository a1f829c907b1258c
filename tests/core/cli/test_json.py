"""Every `--json` output in one style, through real `destkit` processes: snake_case keys and
times in ISO 8601 UTC. A Segment event or a mapping shown whole keeps its own keys, a JSON Schema
its keywords."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from destkit.state import Bury, Leases, Park, open_store
from tests.processes import DESTKIT

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: Keys whose values are shown as they are, not in destkit's style: a Segment event, a mapping,
#: JSON Schemas (``*_schema``), and destination slugs as keys.
VERBATIM = {"event", "default_mapping", "broken"}
STAMP = 1_790_000_000.0  # 2026-09-21T14:13:20Z
EVENT = {"type": "track", "event": "Order Completed", "messageId": "m-1", "userId": "u-1"}


async def fill(location: str) -> None:
    """A store holding one parked delivery, one dead letter and one live process's lease."""
    async with open_store(location, create=True) as store:
        await store.apply(
            [
                Park(("m-1", "hook", "orders"), EVENT, 1, "TIMEOUT", "no answer", STAMP + 60, STAMP + 3600, STAMP),
                Bury(("m-2", "hook", "orders"), {**EVENT, "messageId": "m-2"}, "abc", "BAD_REQUEST", "no", 1, STAMP, STAMP),
            ]
        )
        await Leases(store, role="worker", lease=30).renew()


def keys_and_times(data: Any, path: str = "") -> tuple[list[str], list[str]]:
    """Every key outside the verbatim parts, and every string value that names a time."""
    keys: list[str] = []
    times: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            keys.append(f"{path}.{key}")
            if key in VERBATIM or key.endswith("_schema"):
                continue
            if key.endswith(("_at", "_seen", "_due", "_waiting")) and value is not None:
                times.append(value)
            more_keys, more_times = keys_and_times(value, f"{path}.{key}")
            keys += more_keys
            times += more_times
    elif isinstance(data, list):
        for index, item in enumerate(data):
            more_keys, more_times = keys_and_times(item, f"{path}[{index}]")
            keys += more_keys
            times += more_times
    return keys, times


@pytest.mark.parametrize(
    "command",
    [
        ["parked", "list", "--json"],
        ["dlq", "list", "--json"],
        ["dlq", "show", "1"],
        ["state", "status", "--json"],
        ["destinations", "list", "--json"],
        ["destinations", "show", "webhook", "--json"],
    ],
)
def test_every_json_output_has_snake_case_keys_and_iso_utc_times(tmp_path: Path, command: list[str]) -> None:
    location = str(tmp_path / "state.db")
    asyncio.run(fill(location))
    state = ["--state", location] if command[0] != "destinations" else []
    result = subprocess.run([DESTKIT, *command, *state], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    keys, times = keys_and_times(json.loads(result.stdout))
    assert keys
    assert [key for key in keys if not SNAKE.match(key.rsplit(".", 1)[-1])] == []
    assert [time for time in times if not (isinstance(time, str) and ISO_UTC.match(time))] == []


def test_parked_and_dead_letters_show_their_times_in_utc(tmp_path: Path) -> None:
    location = str(tmp_path / "state.db")
    asyncio.run(fill(location))
    parked = json.loads(subprocess.run([DESTKIT, "parked", "list", "--json", "--state", location], capture_output=True).stdout)
    assert parked["parked"][0]["next_attempt_at"] == "2026-09-21T14:14:20Z"
    assert parked["parked"][0]["give_up_at"] == "2026-09-21T15:13:20Z"
    shown = json.loads(subprocess.run([DESTKIT, "dlq", "show", "1", "--state", location], capture_output=True).stdout)
    assert (shown["message_id"], shown["first_seen"]) == ("m-2", "2026-09-21T14:13:20Z")
    assert shown["event"]["messageId"] == "m-2"  # the event as it came
