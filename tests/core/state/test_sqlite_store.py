"""What only the SQLite backend does: a file of its owner's, WAL, one service, a thread of its own."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from destkit.state import StateError, open_store, partition_of
from destkit.state.migrations import SQLITE
from destkit.state.sqlite_apply import insert_values


async def test_a_new_file_is_its_owners_alone_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.db"
    async with open_store(path) as store:
        await store.accept([("u1", "{}")], time.time())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SQLITE[-1].version
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_only_the_files_own_folder_is_created(tmp_path: Path) -> None:
    # A path missing folders further up is more likely mistyped: an empty ledger there would
    # send again everything the intended one holds.
    mistyped = tmp_path / "sttae" / "runs" / "state.db"
    with pytest.raises(StateError, match=f"no such folder {tmp_path / 'sttae'}"):
        await open_store(mistyped).open()
    assert not (tmp_path / "sttae").exists()
    (tmp_path / "afile").write_text("")
    for under_a_file in (tmp_path / "afile" / "state.db", tmp_path / "afile" / "x" / "state.db"):
        with pytest.raises(StateError, match=f"{tmp_path / 'afile'} is not a folder"):
            await open_store(under_a_file).open()


async def test_links_to_nothing_are_followed_by_the_same_rules_and_named_when_they_cannot_be(tmp_path: Path) -> None:
    # A link to a file not there yet makes the file where the link points, its own folder included.
    (tmp_path / "kept").mkdir()
    link = tmp_path / "state.db"
    link.symlink_to(tmp_path / "kept" / "runs" / "state.db")
    # A link to a folder not there yet (.destkit on another volume) is followed the same way.
    folder_link = tmp_path / ".destkit"
    folder_link.symlink_to(tmp_path / "kept" / "destkit")
    for path in (link, folder_link / "state.db"):
        async with open_store(path) as store:
            await store.accept([("u1", "{}")], time.time())
    assert link.is_symlink() and (tmp_path / "kept" / "runs" / "state.db").is_file()
    assert (tmp_path / "kept" / "destkit" / "state.db").is_file()
    # Links that lead under missing folders: refused, saying where they lead.
    astray, astray_folder = tmp_path / "astray.db", tmp_path / "astray"
    astray.symlink_to(tmp_path / "gone" / "runs" / "state.db")
    astray_folder.symlink_to(tmp_path / "gone" / "runs")
    for path in (astray, astray_folder / "state.db"):
        with pytest.raises(StateError, match=f"no such folder {tmp_path / 'gone'}.*leads through links to {tmp_path / 'gone'}"):
            await open_store(path).open()
        with pytest.raises(StateError, match=r"no such state store.*which does not exist"):
            await open_store(path, create=False).open()
    assert not (tmp_path / "gone").exists()
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    with pytest.raises(StateError, match="its links go round in a loop"):
        await open_store(tmp_path / "loop-a").open()


async def test_a_file_from_a_newer_destkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SQLITE[-1].version + 1}")
    with pytest.raises(StateError, match="written by a newer destkit"):
        await open_store(path).open()


async def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text("not a database, just text that is long enough to have a header" * 20)
    with pytest.raises(StateError, match="not a usable destkit state store"):
        await open_store(path).open()


async def test_a_store_that_must_exist_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no such state store"):
        await open_store(tmp_path / "typo.db", create=False).open()
    assert not (tmp_path / "typo.db").exists()


async def test_a_file_of_the_previous_schema_is_brought_up_to_date(tmp_path: Path) -> None:
    """A store written before partitions existed keeps its waiting events, each in its person's partition."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for migration in SQLITE[:3]:
            db.executescript(migration.sql)
        db.execute("PRAGMA user_version = 3")
        for event in ({"userId": "u1", "n": 1}, {"anonymousId": "a7", "n": 2}):
            db.execute("INSERT INTO inbox (received_at, event) VALUES (?, ?)", (time.time(), json.dumps(event)))
        db.execute("INSERT INTO ledger VALUES ('m1', 'd', 's', 1.0)")
    async with open_store(path) as store:
        assert await store.schema_version() == SQLITE[-1].version
        assert await store.delivered([("m1", "d", "s")]) == {("m1", "d", "s")}
        waiting = await store.claim_inbox("w", [partition_of("u1"), partition_of("a7")], limit=10)
        assert [(e.partition, json.loads(e.event)["n"]) for e in waiting] == [(partition_of("u1"), 1), (partition_of("a7"), 2)]


async def test_only_one_service_holds_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path) as first, open_store(path) as second:
        first.lock_service()
        with pytest.raises(StateError, match=r"used by another destkit serve .*PostgreSQL"):
            second.lock_service()
    async with open_store(path) as third:  # the first one closed: free again
        third.lock_service()
    # One lock however the file is reached: through a link too.
    link = tmp_path / "link.db"
    link.symlink_to(path)
    async with open_store(path) as first, open_store(link) as second:
        first.lock_service()
        with pytest.raises(StateError, match="used by another destkit serve"):
            second.lock_service()


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Another connection (as another process would) holds the write lock for ``seconds``;
    the event is set when it lets go."""
    locked, released = threading.Event(), threading.Event()

    def hold() -> None:
        with sqlite3.connect(path, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            released.wait(5)
            other.execute("COMMIT")

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(5)
    threading.Timer(seconds, released.set).start()
    try:
        yield released
    finally:
        released.set()
        holder.join()


async def test_a_store_opened_while_another_process_writes_waits_for_it(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path) as store:
        await store.accept([("u1", "{}")], time.time())
    with write_lock_held(path, seconds=0.5):
        started = time.monotonic()
        async with open_store(path) as reopened:  # its schema check takes the write lock: it waits, then opens
            assert time.monotonic() - started >= 0.4
            assert await reopened.inbox_depth() == 1


async def test_waiting_for_another_writer_does_not_stop_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path) as store:
        with write_lock_held(path, seconds=1.0) as released:
            gaps: list[float] = []

            async def tick() -> None:
                last = time.monotonic()
                while not released.is_set():
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            started = time.monotonic()
            await asyncio.gather(store.accept([("u1", "{}")], time.time()), tick())
            assert time.monotonic() - started >= 0.9  # the write did wait for the lock...
            assert max(gaps) < 0.25  # ...and the loop went on meanwhile
            assert await store.inbox_depth() == 1


@pytest.mark.parametrize("limit", [4, 9, 999])
def test_rows_of_values_go_in_whole_and_exact_whatever_the_argument_limit(tmp_path: Path, limit: int) -> None:
    db = sqlite3.connect(tmp_path / "v.db", isolation_level=None)
    db.execute("CREATE TABLE t (n INTEGER, text TEXT, at REAL, missing TEXT)")
    db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    rows = [(n, f'say "{n}" \\ 🎉', 1_700_000_000.123456 + n / 7, None) for n in range(1000)]
    insert_values(db, "INSERT INTO t (n, text, at, missing)", rows)
    assert db.execute("SELECT n, text, at, missing FROM t ORDER BY rowid").fetchall() == rows
    insert_values(db, "INSERT INTO t (n, text, at, missing)", [])
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 1000


def test_rows_of_values_of_any_count_take_a_few_statements_of_a_few_shapes(tmp_path: Path) -> None:
    # The connection keeps every statement it prepares: one per count of rows kept about 11 MB
    # of them in a replay process.
    db = sqlite3.connect(tmp_path / "v.db", isolation_level=None)
    db.execute("CREATE TABLE t (n INTEGER, text TEXT)")
    executed: list[str] = []
    db.set_trace_callback(executed.append)
    for count in range(1, 301):
        insert_values(db, "INSERT INTO t (n, text)", [(n, "x") for n in range(count)])
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 300 * 301 // 2
    shapes = {statement.count("(") for statement in executed if statement.startswith("INSERT")}
    assert len(shapes) <= 8, sorted(shapes)  # 1, 2, 4 ... 128 rows
    assert len([s for s in executed if s.startswith("INSERT")]) <= 300 * 9  # at most 2 of 128, then 64, 32 ... 1
