"""One SQLite file on a thread of its own: what the SQLite state store stands on.

A connection of its own runs on a thread of its own, and every call is handed to that thread,
so the event loop never waits for the disk or for another process's write lock. WAL mode lets
readers work beside one writer; each call is one short transaction. Several processes may
share a file (replays, workers); only one ``destkit serve`` may (:meth:`SQLiteFile.lock_service`).
The file is created readable by its owner only: it holds raw events.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..events import ordering_key
from . import migrations
from .contract import StateError
from .partitions import partition_of

__all__ = ["BUSY_TIMEOUT", "SQLiteFile"]

T = TypeVar("T")

BUSY_TIMEOUT = 30.0  # seconds a call waits for another process's write lock


def _patiently(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Call ``fn`` (on the store's thread), again while another process holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5... up to 100 ms between tries, so a few processes
    writing small transactions spent most of their time asleep (two delivery processes drained
    a file slower than one). Retrying the whole call is safe: a transaction that failed was
    rolled back, a statement outside one had no effect. The pauses start at a fifth of a
    millisecond and stay under five; after 30 seconds the lock is reported as the error it is.
    """
    deadline, pause = time.monotonic() + BUSY_TIMEOUT, 0.0002
    while True:
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 1.5, 0.005)


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` says another connection holds a lock (worth another try)."""
    text = str(exc)
    return "locked" in text or "busy" in text


def _partition_of_event(text: str) -> int:
    try:
        event = json.loads(text)
    except ValueError:
        return 0
    return partition_of(ordering_key(event)) if isinstance(event, dict) else 0


class SQLiteFile:
    """The file, its connection and its thread; the schema brought up to date when it opens."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.create = create
        self._db: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock_file: int | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise StateError(f"{self.location}: the state store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, _patiently, fn, args)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    async def open(self) -> None:
        if self._executor is not None:
            return
        if not self.create and not self.path.is_file():
            raise StateError(f"{self.location}: no such state store (nothing has been delivered with it yet){self._dangling()}")
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="destkit-sqlite")
        try:
            await self._run(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> None:
        try:
            if self.create and not self.path.exists():
                self._make_folder()
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # owner only, before SQLite opens it
            # No busy handler of SQLite's (it sleeps up to 100 ms at a time): _patiently retries.
            self._db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")  # safe against process crashes in WAL mode
            self.db.create_function("destkit_partition", 1, _partition_of_event, deterministic=True)
            self._migrate()
        except sqlite3.OperationalError as exc:
            if self._db is not None:
                self._db.close()  # a fresh connection on the next try
                self._db = None
            if _busy(exc):
                raise  # another process holds the lock: _patiently tries again
            raise StateError(f"{self.location}: not a usable destkit state store ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.location}: not a usable destkit state store ({exc})") from None
        except OSError as exc:
            raise StateError(f"{self.location}: cannot open the state store ({exc.strerror}){self._dangling()}") from None

    def _dangling(self) -> str:
        """Where a path through links (to the file or a folder) leads when that is nowhere, for
        an error to say."""
        try:
            os.path.realpath(self.path, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "; its links go round in a loop"
            target = os.path.realpath(self.path)
            if target != os.path.abspath(self.path):
                return f"; it leads through links to {target}, which does not exist"
        return ""

    def _make_folder(self) -> None:
        """Create the file's folder when only it is missing (``.destkit`` for the default file):
        a path whose folders are missing further up is more likely mistyped, and a new empty
        ledger there would send again everything the intended one holds. Through links, the
        folder is the one they lead to."""
        folder = Path(os.path.realpath(self.path)).parent
        if folder.is_dir():
            return
        for above in (folder, folder.parent):
            if above.exists() and not above.is_dir():
                raise StateError(f"{self.location}: {above} is not a folder")
        if not folder.parent.is_dir():
            raise StateError(
                f"{self.location}: no such folder {folder.parent} (create it, or check the state location){self._dangling()}"
            )
        folder.mkdir(mode=0o700, exist_ok=True)

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for migration in migrations.still_to_apply(self.location, version, migrations.SQLITE):
                for statement in migrations.statements(migration.sql):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {migration.version}")

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._db is not None:
            await self._run(self.db.close)
        self._executor.shutdown(wait=True)
        self._executor = None
        self._db = None
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def lock_service(self) -> None:
        """Hold this file for one ``destkit serve`` until the store closes (or the process dies)."""
        target = Path(os.path.realpath(self.path))  # one lock however the file is reached
        lock_path = target.with_name(target.name + "-serve.lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StateError(
                f"{self.location} is used by another destkit serve ({holder}): one service per SQLite state "
                "store. To run several, share a PostgreSQL store (--state postgresql://...), or add delivery "
                "processes with destkit worker"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self._lock_file = fd

    async def schema_version(self) -> int:
        return await self._run(lambda: int(self.db.execute("PRAGMA user_version").fetchone()[0]))
