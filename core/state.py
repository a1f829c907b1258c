"""The state store: an embedded SQLite database that keeps what must survive a crash.

- the ledger: (messageId, destination, subscription) delivered, so a replay does not send
  an event twice;
- parked deliveries: events waiting for a later attempt (a profile not visible yet, a
  destination down), with their raw event, attempts, last error and next attempt time;
- dead letters: events given up on, with the raw event (so a fixed mapping can be applied
  again), the mapping's hash, the error a person can act on, attempts, first and last seen;
- the inbox (``destkit serve``): events accepted and answered 200, until they are settled;
- profiles (profile-request destinations): per destination and identity, the audiences the
  person is in and the attributes kept for them (read and written by :mod:`.profiles`).

WAL mode lets readers work beside one writer; every change is its own short transaction,
committed before destkit moves on, so a process killed at any point loses at most what was
in flight. Several processes may share one file. The schema version is SQLite's
``user_version``; :data:`MIGRATIONS` bring an older file up to date.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DestkitError

__all__ = ["StateStore", "StateError", "ParkedDelivery", "DeadLetter", "DEFAULT_STATE_PATH", "MIGRATIONS"]

DEFAULT_STATE_PATH = Path(".destkit") / "state.db"

MIGRATIONS: list[str] = [
    # 1: the ledger, parked deliveries, dead letters
    """
    CREATE TABLE ledger (
        message_id TEXT NOT NULL,
        destination TEXT NOT NULL,
        subscription TEXT NOT NULL,
        delivered_at REAL NOT NULL,
        PRIMARY KEY (message_id, destination, subscription)
    ) WITHOUT ROWID;
    CREATE TABLE parked (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        destination TEXT NOT NULL,
        subscription TEXT NOT NULL,
        event TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        parkings INTEGER NOT NULL DEFAULT 1,
        error_code TEXT NOT NULL,
        error_message TEXT NOT NULL,
        first_seen REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        give_up_at REAL NOT NULL,
        UNIQUE (message_id, destination, subscription)
    );
    CREATE INDEX parked_due ON parked (next_attempt_at);
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        destination TEXT NOT NULL,
        subscription TEXT NOT NULL,
        event TEXT NOT NULL,
        mapping_hash TEXT NOT NULL,
        error_code TEXT NOT NULL,
        error_message TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE INDEX dead_letters_code ON dead_letters (error_code);
    """,
    # 2: the service's inbox: events accepted and not yet settled
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at REAL NOT NULL,
        event TEXT NOT NULL
    );
    """,
    # 3: profiles kept by profile-request destinations, one row per identity
    """
    CREATE TABLE profiles (
        destination TEXT NOT NULL,
        namespace TEXT NOT NULL,
        identity TEXT NOT NULL,
        segments TEXT NOT NULL,
        attributes TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (destination, namespace, identity)
    ) WITHOUT ROWID;
    """,
]


class StateError(DestkitError):
    """The state file cannot be opened or is not a destkit state store."""


@dataclass(frozen=True)
class ParkedDelivery:
    id: int
    message_id: str
    destination: str
    subscription: str
    event: dict[str, Any]
    attempts: int
    parkings: int
    error_code: str
    error_message: str
    first_seen: float
    next_attempt_at: float
    give_up_at: float


@dataclass(frozen=True)
class DeadLetter:
    id: int
    message_id: str
    destination: str
    subscription: str
    event: dict[str, Any]
    mapping_hash: str
    error_code: str
    error_message: str
    attempts: int
    first_seen: float
    last_seen: float

    def to_dict(self, with_event: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id,
            "messageId": self.message_id,
            "destination": self.destination,
            "subscription": self.subscription,
            "error": {"code": self.error_code, "message": self.error_message},
            "attempts": self.attempts,
            "mappingHash": self.mapping_hash,
            "firstSeen": _iso(self.first_seen),
            "lastSeen": _iso(self.last_seen),
        }
        if with_event:
            data["event"] = self.event
        return data


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


class StateStore:
    """One state file. Not shared between threads: open one per thread or process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")  # safe against process crashes in WAL mode
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: not a usable destkit state store ({exc})") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot open the state store ({exc.strerror})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StateError(f"{self.path}: written by a newer destkit (schema {version}, this one knows {len(MIGRATIONS)})")
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    # --- the ledger -----------------------------------------------------------------------------

    def delivered(self, message_id: str, destination: str, subscription: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM ledger WHERE message_id = ? AND destination = ? AND subscription = ?",
            (message_id, destination, subscription),
        ).fetchone()
        return row is not None

    def record_delivered(self, message_id: str, destination: str, subscription: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?)", (message_id, destination, subscription, time.time()))

    # --- parked deliveries ----------------------------------------------------------------------

    def park(
        self,
        *,
        event: dict[str, Any],
        message_id: str,
        destination: str,
        subscription: str,
        attempts: int,
        error_code: str,
        error_message: str,
        next_attempt_at: float,
        give_up_at: float,
        now: float | None = None,
    ) -> int:
        """Park a delivery (or move an already parked one to its next attempt)."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, attempts, parkings FROM parked WHERE message_id = ? AND destination = ? AND subscription = ?",
                (message_id, destination, subscription),
            ).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO parked (message_id, destination, subscription, event, attempts, error_code, error_message,"
                    " first_seen, next_attempt_at, give_up_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        message_id,
                        destination,
                        subscription,
                        json.dumps(event),
                        attempts,
                        error_code,
                        error_message,
                        now,
                        next_attempt_at,
                        give_up_at,
                    ),
                )
                return int(cursor.lastrowid or 0)
            db.execute(
                "UPDATE parked SET attempts = ?, parkings = parkings + 1, error_code = ?, error_message = ?,"
                " next_attempt_at = ? WHERE id = ?",
                (row[1] + attempts, error_code, error_message, next_attempt_at, row[0]),
            )
            return int(row[0])

    def parked(self, destination: str | None = None) -> list[ParkedDelivery]:
        query = "SELECT * FROM parked" + (" WHERE destination = ?" if destination else "") + " ORDER BY next_attempt_at, id"
        return [self._parked(row) for row in self.db.execute(query, (destination,) if destination else ())]

    def due(self, now: float | None = None, limit: int = 1000) -> list[ParkedDelivery]:
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT * FROM parked WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", (now, limit)
        )
        return [self._parked(row) for row in rows]

    def next_due_at(self) -> float | None:
        row = self.db.execute("SELECT MIN(next_attempt_at) FROM parked").fetchone()
        return None if row[0] is None else float(row[0])

    def unpark(self, parked_id: int) -> None:
        self.db.execute("DELETE FROM parked WHERE id = ?", (parked_id,))

    def parked_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM parked").fetchone()[0])

    @staticmethod
    def _parked(row: tuple[Any, ...]) -> ParkedDelivery:
        return ParkedDelivery(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])

    # --- dead letters ---------------------------------------------------------------------------

    def bury(
        self,
        *,
        event: dict[str, Any],
        message_id: str,
        destination: str,
        subscription: str,
        mapping_hash: str,
        error_code: str,
        error_message: str,
        attempts: int,
        first_seen: float | None = None,
        parked_id: int | None = None,
        now: float | None = None,
    ) -> int:
        """Add a dead letter (removing its parked entry, if any, in the same transaction)."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            if parked_id is not None:
                db.execute("DELETE FROM parked WHERE id = ?", (parked_id,))
            cursor = db.execute(
                "INSERT INTO dead_letters (message_id, destination, subscription, event, mapping_hash, error_code, error_message,"
                " attempts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    destination,
                    subscription,
                    json.dumps(event),
                    mapping_hash,
                    error_code,
                    error_message,
                    attempts,
                    first_seen or now,
                    now,
                ),
            )
            return int(cursor.lastrowid or 0)

    def dead_letters(self, code: str | None = None, ids: Iterable[int] | None = None) -> list[DeadLetter]:
        query, args = "SELECT * FROM dead_letters", list[Any]()
        clauses = []
        if code is not None:
            clauses.append("error_code = ?")
            args.append(code)
        if ids is not None:
            wanted = list(ids)
            clauses.append(f"id IN ({', '.join('?' for _ in wanted)})" if wanted else "0")
            args.extend(wanted)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        rows = self.db.execute(query + " ORDER BY id", args)
        return [DeadLetter(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:]) for row in rows]

    def resolve_dead_letter(self, dead_letter_id: int) -> None:
        self.db.execute("DELETE FROM dead_letters WHERE id = ?", (dead_letter_id,))

    def touch_dead_letter(self, dead_letter_id: int, attempts: int, error_code: str, error_message: str) -> None:
        self.db.execute(
            "UPDATE dead_letters SET attempts = attempts + ?, error_code = ?, error_message = ?, last_seen = ? WHERE id = ?",
            (attempts, error_code, error_message, time.time(), dead_letter_id),
        )

    def purge_dead_letters(self, before: float | None = None) -> int:
        if before is None:
            return self.db.execute("DELETE FROM dead_letters").rowcount
        return self.db.execute("DELETE FROM dead_letters WHERE last_seen < ?", (before,)).rowcount

    # --- the service's inbox ---------------------------------------------------------------------

    def accept(self, events: list[str], received_at: float | None = None) -> None:
        """Store encoded events in one transaction: once this returns, they survive a crash."""
        stamp = time.time() if received_at is None else received_at
        with self.transaction() as db:
            db.executemany("INSERT INTO inbox (received_at, event) VALUES (?, ?)", [(stamp, event) for event in events])

    def inbox_after(self, last_id: int, limit: int = 500) -> list[tuple[int, float, str]]:
        """Accepted events with an id above ``last_id``, oldest first: (id, received_at, encoded event)."""
        rows = self.db.execute("SELECT id, received_at, event FROM inbox WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit))
        return [(int(row[0]), float(row[1]), str(row[2])) for row in rows]

    def settled(self, inbox_id: int) -> None:
        self.db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))

    def inbox_depth(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def integrity(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])
