"""What --state may say, and what is printed of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit.state import StateError, default_location, describe_location, open_store
from destkit.state.locations import parse_postgresql
from destkit.state.postgresql import PostgreSQLStore
from destkit.state.sqlite import SQLiteStore


@pytest.mark.parametrize(
    ("location", "path"),
    [
        ("state.db", Path("state.db")),
        ("sqlite:///relative/state.db", Path("relative/state.db")),
        ("sqlite:////srv/destkit/state.db", Path("/srv/destkit/state.db")),
    ],
)
def test_paths_and_sqlite_urls_open_an_sqlite_file(location: str, path: Path) -> None:
    store = open_store(location)
    assert isinstance(store, SQLiteStore) and store.path == path


def test_a_path_from_the_home_folder_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DESTKIT_STATE or a quoted --state reach destkit with the "~" no shell expanded.
    monkeypatch.setenv("HOME", str(tmp_path))
    store = open_store("~/runs/state.db")
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "runs" / "state.db"
    named = open_store("~backup.db")  # a file name, not another user's home folder
    assert isinstance(named, SQLiteStore) and named.path == Path("~backup.db")


def test_a_home_folder_that_cannot_be_found_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(uid: int) -> None:
        raise KeyError(uid)  # what the password database says of a user it has no entry for

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr("pwd.getpwuid", unknown)
    with pytest.raises(StateError, match="no home folder"):
        open_store("~/state.db")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_urls_open_a_shared_store(scheme: str) -> None:
    assert isinstance(open_store(f"{scheme}://u:p@db.internal:6432/events"), PostgreSQLStore)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("mysql://u@h/db", "mysql://...: not a state store destkit knows"),
        ("sqlite://state.db", "an SQLite URL is sqlite:///relative/path.db"),
        ("postgresql://u@h/db?schema=drop table", "a schema name is letters, digits and '_'"),
        ("postgresql://u@h/db?pool_size=0", "a number of connections from 1 to 200"),
        ("", "--state is empty"),
    ],
)
def test_a_location_that_cannot_be_used_is_a_clear_error(location: str, expected: str) -> None:
    with pytest.raises(StateError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        open_store(location)


def test_destkit_parameters_are_kept_from_the_driver_and_the_password_from_print() -> None:
    where = parse_postgresql("postgresql://svc:s%3Acret@db.internal:6432/events?sslmode=require&schema=eu&pool_size=20")
    assert (where.schema, where.pool_size, where.user, where.database, where.server) == (
        "eu",
        20,
        "svc",
        "events",
        "db.internal:6432",
    )
    assert where.dsn == "postgresql://svc:s%3Acret@db.internal:6432/events?sslmode=require"
    assert "s%3Acret" not in where.display and "svc:***@db.internal:6432" in where.display
    assert describe_location("postgresql://svc:hunter22@h/db") == "postgresql://svc:***@h/db"
    assert describe_location("local/state.db") == "local/state.db"


def test_the_environment_names_the_default_store() -> None:
    assert default_location({}) == str(Path(".destkit") / "state.db")
    assert default_location({"DESTKIT_STATE": "postgresql://h/db"}) == "postgresql://h/db"
