"""The SQLite backend: one file, the embedded default for one machine.

Its tables are read and written here; the file, its connection and the thread every call is
handed to are :class:`~destkit.state.sqlite_file.SQLiteFile`'s.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .claims import InboxClaims
from .contract import StateError, StateStore, purpose_clash
from .partitions import partition_of
from .records import (
    DeadLetter,
    DeliveryKey,
    InboxEvent,
    Operation,
    ParkedDelivery,
    StoredProfile,
    StoreStatus,
    WorkerLease,
    merge_profile,
    runs_of_one_kind,
)
from .sqlite_apply import APPLY, insert_values
from .sqlite_file import SQLiteFile

__all__ = ["SQLiteStore"]

_PARKED = (
    "id, message_id, destination, subscription, event, attempts, parkings, error_code, error_message,"
    " first_seen, next_attempt_at, give_up_at"
)
_CHUNK = 500  # values per IN (...) list


def _parked(row: Sequence[Any]) -> ParkedDelivery:
    return ParkedDelivery(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:12])


def _placeholders(values: Collection[Any]) -> str:
    return ", ".join("?" * len(values))


class SQLiteStore(SQLiteFile, StateStore):
    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        super().__init__(path, create=create)
        self._claims = InboxClaims()

    async def claim_purpose(self, rehearsal: bool) -> None:
        await self._run(self._claim_purpose, "rehearsal" if rehearsal else "real")

    def _claim_purpose(self, purpose: str) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'purpose'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('purpose', ?)", (purpose,))
            elif row[0] != purpose:
                raise StateError(purpose_clash(self.location, row[0]))

    # --- the ledger -----------------------------------------------------------------------------

    async def delivered(self, keys: Collection[DeliveryKey]) -> set[DeliveryKey]:
        return await self._run(self._delivered, list(keys)) if keys else set()

    def _delivered(self, keys: list[DeliveryKey]) -> set[DeliveryKey]:
        wanted = set(keys)
        ids = sorted({key[0] for key in keys})
        found: set[DeliveryKey] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self.db.execute(
                f"SELECT message_id, destination, subscription FROM ledger WHERE message_id IN ({_placeholders(chunk)})",
                chunk,
            )
            found.update(key for key in map(tuple, rows) if key in wanted)
        return found

    async def prune_ledger(self, before: float) -> int:
        return await self._run(lambda: self.db.execute("DELETE FROM ledger WHERE delivered_at < ?", (before,)).rowcount)

    # --- settling ---------------------------------------------------------------------------------

    async def apply(self, operations: Sequence[Operation]) -> None:
        if operations:
            await self._run(self._apply, operations)
            self._claims.applied(operations)

    def _apply(self, operations: Sequence[Operation]) -> None:
        with self._transaction() as db:
            for kind, run in runs_of_one_kind(operations):
                APPLY[kind](db, run)

    # --- parked deliveries ----------------------------------------------------------------------

    async def claim_due(self, owner: str, limit: int, lease: float) -> list[ParkedDelivery]:
        return await self._run(self._claim_due, owner, limit, lease)

    def _claim_due(self, owner: str, limit: int, lease: float) -> list[ParkedDelivery]:
        now = time.time()
        with self._transaction() as db:
            rows = db.execute(
                f"UPDATE parked SET claimed_by = ?, lease_until = ? WHERE id IN (SELECT id FROM parked"
                " WHERE next_attempt_at <= ? AND (claimed_by IS NULL OR lease_until < ?)"
                f" ORDER BY next_attempt_at, id LIMIT ?) RETURNING {_PARKED}",
                (owner, now + lease, now, now, limit),
            ).fetchall()
        return sorted(map(_parked, rows), key=lambda p: (p.next_attempt_at, p.id))

    async def next_due_at(self) -> float | None:
        row = await self._run(lambda: self.db.execute("SELECT MIN(next_attempt_at) FROM parked").fetchone())
        return None if row[0] is None else float(row[0])

    async def parked(self, destination: str | None = None) -> list[ParkedDelivery]:
        where, args = (" WHERE destination = ?", (destination,)) if destination else ("", ())
        query = f"SELECT {_PARKED} FROM parked{where} ORDER BY next_attempt_at, id"
        return await self._run(lambda: [_parked(row) for row in self.db.execute(query, args)])

    async def parked_count(self) -> int:
        return await self._count("parked")

    async def _count(self, table: str) -> int:
        return await self._run(lambda: int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]))

    # --- dead letters ---------------------------------------------------------------------------

    async def dead_letters(self, code: str | None = None, ids: Collection[int] | None = None) -> list[DeadLetter]:
        clauses, args = [], list[Any]()
        if code is not None:
            clauses.append("error_code = ?")
            args.append(code)
        if ids is not None:
            wanted = list(ids)
            clauses.append(f"id IN ({_placeholders(wanted)})" if wanted else "0")
            args.extend(wanted)
        query = "SELECT * FROM dead_letters" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id"
        rows = await self._run(lambda: self.db.execute(query, args).fetchall())
        return [DeadLetter(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:11]) for row in rows]

    async def purge_dead_letters(self, before: float | None = None) -> int:
        if before is None:
            return await self._run(lambda: self.db.execute("DELETE FROM dead_letters").rowcount)
        return await self._run(lambda: self.db.execute("DELETE FROM dead_letters WHERE last_seen < ?", (before,)).rowcount)

    # --- the inbox ------------------------------------------------------------------------------

    async def accept(self, events: Sequence[tuple[str, str]], received_at: float) -> None:
        rows = [(partition_of(person), received_at, text) for person, text in events]
        await self._run(self._accept, rows)

    def _accept(self, rows: list[tuple[int, float, str]]) -> None:
        # An event answered 200 must survive a power loss, not only a crash of destkit: its
        # commit waits for the disk. Settlements need not (one lost is only sent again).
        self.db.execute("PRAGMA synchronous = FULL")
        try:
            with self._transaction() as db:
                insert_values(db, "INSERT INTO inbox (partition_id, received_at, event)", rows)
        finally:
            self.db.execute("PRAGMA synchronous = NORMAL")

    async def claim_inbox(self, owner: str, partitions: Collection[int], limit: int) -> list[InboxEvent]:
        if not partitions or limit <= 0:
            return []
        async with self._claims.lock:
            claimed = await self._run(self._unclaimed, list(partitions), self._claims.held(owner), limit)
            self._claims.add(owner, claimed)
        return claimed

    def _unclaimed(self, partitions: list[int], held: list[int], limit: int) -> list[InboxEvent]:
        # The claims held go as one JSON array: there may be more than a statement takes arguments.
        rows = self.db.execute(
            f"SELECT id, partition_id, received_at, event FROM inbox WHERE partition_id IN ({_placeholders(partitions)})"
            " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
            (*partitions, json.dumps(held), limit),
        )
        return [InboxEvent(*row) for row in rows]

    async def inbox_depth(self) -> int:
        return await self._count("inbox")

    # --- processes and their leases -------------------------------------------------------------

    async def heartbeat(self, owner: str, role: str, lease: float) -> list[int]:
        return await self._run(self._heartbeat, owner, role, lease)

    def _heartbeat(self, owner: str, role: str, lease: float) -> list[int]:
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO workers VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (worker) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (owner, role, socket.gethostname(), os.getpid(), now, now),
            )
            db.execute("UPDATE partitions SET lease_until = ? WHERE owner = ? AND lease_until >= ?", (now + lease, owner, now))
            db.execute("UPDATE parked SET lease_until = ? WHERE claimed_by = ? AND lease_until >= ?", (now + lease, owner, now))
            db.execute("DELETE FROM workers WHERE heartbeat_at < ?", (now - max(10 * lease, 600),))
            rows = db.execute("SELECT partition_id FROM partitions WHERE owner = ? AND lease_until >= ?", (owner, now))
            return [int(row[0]) for row in rows]

    async def acquire_partitions(self, owner: str, count: int, lease: float) -> list[int]:
        return await self._run(self._acquire, owner, count, lease) if count > 0 else []

    def _acquire(self, owner: str, count: int, lease: float) -> list[int]:
        now = time.time()
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE partitions SET owner = ?, lease_until = ? WHERE partition_id IN (SELECT partition_id FROM partitions"
                " WHERE owner IS NULL OR lease_until < ? ORDER BY partition_id LIMIT ?) RETURNING partition_id",
                (owner, now + lease, now, count),
            ).fetchall()
        return sorted(int(row[0]) for row in rows)

    async def release_partitions(self, owner: str, partitions: Collection[int]) -> None:
        wanted = list(partitions)
        if wanted:
            query = (
                "UPDATE partitions SET owner = NULL, lease_until = NULL"
                f" WHERE owner = ? AND partition_id IN ({_placeholders(wanted)})"
            )
            async with self._claims.lock:  # after a claim on its way: the rows it took of them are let go too
                await self._run(lambda: self.db.execute(query, (owner, *wanted)))
                self._claims.release(owner, set(wanted))

    async def live_workers(self, lease: float) -> int:
        query = "SELECT COUNT(*) FROM workers WHERE role = 'delivery' AND heartbeat_at >= ?"
        return await self._run(lambda: int(self.db.execute(query, (time.time() - lease,)).fetchone()[0]))

    async def retire(self, owner: str) -> None:
        await self._run(self._retire, owner)
        self._claims.retire(owner)

    def _retire(self, owner: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE partitions SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,))
            db.execute("UPDATE parked SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?", (owner,))
            db.execute("DELETE FROM workers WHERE worker = ?", (owner,))

    # --- profiles -------------------------------------------------------------------------------

    async def profile(self, destination: str, namespace: str, identity: str) -> StoredProfile | None:
        return await self._run(self._profile, destination, namespace, identity)

    def _profile(self, destination: str, namespace: str, identity: str) -> StoredProfile | None:
        row = self.db.execute(
            "SELECT segments, attributes, updated_at FROM profiles WHERE destination = ? AND namespace = ? AND identity = ?",
            (destination, namespace, identity),
        ).fetchone()
        return None if row is None else StoredProfile(json.loads(row[0]), json.loads(row[1]), float(row[2]))

    async def update_profiles(
        self,
        destination: str,
        identities: Mapping[str, str],
        entered: list[str],
        exited: list[str],
        attributes: dict[str, Any] | None,
        now: float,
    ) -> None:
        await self._run(self._update_profiles, destination, dict(identities), entered, exited, attributes, now)

    def _update_profiles(
        self,
        destination: str,
        identities: dict[str, str],
        entered: list[str],
        exited: list[str],
        attributes: dict[str, Any] | None,
        now: float,
    ) -> None:
        with self._transaction() as db:
            for namespace, identity in identities.items():
                segments, kept = merge_profile(self._profile(destination, namespace, identity), entered, exited, attributes)
                db.execute(
                    "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?, ?, ?)",
                    (destination, namespace, identity, json.dumps(segments), json.dumps(kept, ensure_ascii=False), now),
                )

    async def profile_count(self, destination: str) -> int:
        query = "SELECT COUNT(*) FROM profiles WHERE destination = ?"
        return await self._run(lambda: int(self.db.execute(query, (destination,)).fetchone()[0]))

    # --- tokens ---------------------------------------------------------------------------------

    async def load_token(self, key: str) -> dict[str, Any] | None:
        row = await self._run(lambda: self.db.execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone())
        return None if row is None else dict(json.loads(row[0]))

    async def save_token(self, key: str, value: dict[str, Any]) -> None:
        query = "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)"
        await self._run(lambda: self.db.execute(query, (key, json.dumps(value), time.time())))

    # --- looking after it -----------------------------------------------------------------------

    async def status(self, lease: float) -> StoreStatus:
        return await self._run(self._status, lease)

    def _status(self, lease: float) -> StoreStatus:
        db, now = self.db, time.time()

        def one(query: str, *args: Any) -> Any:
            return db.execute(query, args).fetchone()[0]

        workers = [
            WorkerLease(*row)
            for row in db.execute(
                "SELECT worker, role, host, pid, started_at, heartbeat_at,"
                " (SELECT COUNT(*) FROM partitions p WHERE p.owner = w.worker AND p.lease_until >= ?),"
                " (SELECT COUNT(*) FROM parked k WHERE k.claimed_by = w.worker AND k.lease_until >= ?)"
                " FROM workers w WHERE heartbeat_at >= ? ORDER BY started_at",
                (now, now, now - lease),
            )
        ]
        return StoreStatus(
            backend=self.backend,
            location=self.location,
            schema_version=int(one("PRAGMA user_version")),
            queue_depth=int(one("SELECT COUNT(*) FROM inbox")),
            oldest_waiting=one("SELECT MIN(received_at) FROM inbox"),
            parked=int(one("SELECT COUNT(*) FROM parked")),
            next_parked_due=one("SELECT MIN(next_attempt_at) FROM parked"),
            dead_letters=int(one("SELECT COUNT(*) FROM dead_letters")),
            ledger=int(one("SELECT COUNT(*) FROM ledger")),
            partitions=int(one("SELECT COUNT(*) FROM partitions")),
            rehearsal=one("SELECT COUNT(*) FROM meta WHERE name = 'purpose' AND value = 'rehearsal'") > 0,
            workers=workers,
        )
