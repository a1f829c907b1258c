"""The state store on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from destkit.state import MIGRATIONS, StateError, StateStore

EVENT = {"type": "identify", "messageId": "m1", "userId": "u1", "traits": {"a": 1}}


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "deep" / "state.db")


def park(store: StateStore, **changes: Any) -> int:
    """Park EVENT for t/s (a first PROFILE_NOT_FOUND, due at once), with ``changes`` applied."""
    now = time.time()
    fields: dict[str, Any] = {
        "event": EVENT,
        "message_id": "m1",
        "destination": "t",
        "subscription": "s",
        "attempts": 1,
        "error_code": "PROFILE_NOT_FOUND",
        "error_message": "x",
        "next_attempt_at": now,
        "give_up_at": now + 3600,
    }
    return store.park(**{**fields, **changes})


def test_a_new_file_is_migrated_in_wal_mode(store: StateStore) -> None:
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity() == "ok"


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as first:
        first.record_delivered("m1", "target", "profiles")
    with StateStore(tmp_path / "s.db") as again:
        assert again.delivered("m1", "target", "profiles")
        assert not again.delivered("m1", "target", "other")


def test_a_file_from_a_newer_destkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    StateStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StateError, match="written by a newer destkit"):
        StateStore(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text("not a database, just text that is long enough to have a header" * 20)
    with pytest.raises(StateError, match="not a usable destkit state store"):
        StateStore(path)


def test_parking_twice_moves_the_same_entry_on(store: StateStore) -> None:
    now = time.time()
    first = park(store, next_attempt_at=now + 60, give_up_at=now + 3600)
    again = park(store, attempts=2, error_code="TIMEOUT", error_message="y", next_attempt_at=now + 300, give_up_at=now + 3600)
    assert first == again
    (parked,) = store.parked()
    assert (parked.attempts, parked.parkings, parked.error_code, parked.event) == (3, 2, "TIMEOUT", EVENT)
    assert store.due(now) == [] and [p.id for p in store.due(now + 301)] == [first]
    assert store.next_due_at() == pytest.approx(now + 300)
    store.unpark(first)
    assert store.parked_count() == 0 and store.next_due_at() is None


def test_burying_a_parked_delivery_moves_it_to_the_dead_letters(store: StateStore) -> None:
    now = time.time()
    parked_id = park(store, next_attempt_at=now, give_up_at=now)
    dead_id = store.bury(
        event=EVENT,
        message_id="m1",
        destination="t",
        subscription="s",
        mapping_hash="abc",
        error_code="PROFILE_NOT_FOUND",
        error_message="gave up",
        attempts=5,
        parked_id=parked_id,
    )
    assert store.parked_count() == 0
    (letter,) = store.dead_letters(code="PROFILE_NOT_FOUND")
    assert (letter.id, letter.event, letter.mapping_hash, letter.attempts) == (dead_id, EVENT, "abc", 5)
    assert store.dead_letters(code="OTHER") == [] and store.dead_letters(ids=[]) == []
    store.touch_dead_letter(dead_id, 2, "BAD_REQUEST", "still no")
    assert store.dead_letters(ids=[dead_id])[0].attempts == 7


def test_purging_by_date(store: StateStore) -> None:
    for n in range(3):
        store.bury(
            event=EVENT,
            message_id=f"m{n}",
            destination="t",
            subscription="s",
            mapping_hash="",
            error_code="X",
            error_message="x",
            attempts=1,
        )
    assert store.purge_dead_letters(before=time.time() - 3600) == 0
    assert store.purge_dead_letters(before=time.time() + 1) == 3
