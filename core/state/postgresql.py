"""The PostgreSQL backend: one store shared by any number of processes on any machines.

Its tables are read and written here; the pool, the schema's migrations and the connection
that listens for new events are :class:`~destkit.state.postgresql_pool.PostgreSQLDatabase`'s.
Leases are measured by the server's clock, so machines whose clocks differ still agree on who
holds what; claims of partitions and parked deliveries skip rows another process has locked
(``FOR UPDATE SKIP LOCKED``), and claims of inbox events are kept in the process
(:mod:`~destkit.state.claims`); accepted events are announced with ``NOTIFY`` so idle workers
start at once.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from .claims import InboxClaims
from .contract import StateError, StateStore, purpose_clash
from .locations import PostgreSQLLocation
from .partitions import partition_of
from .postgresql_apply import APPLY, one_statement
from .postgresql_pool import PostgreSQLDatabase
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

__all__ = ["PostgreSQLStore"]

#: The server's clock, in Unix seconds: every lease is measured by it.
NOW = "extract(epoch FROM clock_timestamp())::float8"
_PARKED = (
    "id, message_id, destination, subscription, event, attempts, parkings, error_code, error_message,"
    " first_seen, next_attempt_at, give_up_at"
)


def _parked(row: Mapping[str, Any]) -> ParkedDelivery:
    values = list(row.values())
    return ParkedDelivery(values[0], values[1], values[2], values[3], json.loads(values[4]), *values[5:12])


class PostgreSQLStore(PostgreSQLDatabase, StateStore):
    backend = "postgresql"

    def __init__(self, where: PostgreSQLLocation, *, create: bool = True) -> None:
        super().__init__(where, create=create)
        self._claims = InboxClaims()

    async def claim_purpose(self, rehearsal: bool) -> None:
        purpose = "rehearsal" if rehearsal else "real"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO meta VALUES ('purpose', $1) ON CONFLICT (name) DO NOTHING", purpose)
            held = await conn.fetchval("SELECT value FROM meta WHERE name = 'purpose'")
        if held != purpose:
            raise StateError(purpose_clash(self.location, held))

    # --- the ledger -----------------------------------------------------------------------------

    async def delivered(self, keys: Collection[DeliveryKey]) -> set[DeliveryKey]:
        if not keys:
            return set()
        wanted = set(keys)
        rows = await self.pool.fetch(
            "SELECT message_id, destination, subscription FROM ledger WHERE message_id = ANY($1::text[])",
            sorted({key[0] for key in keys}),
        )
        return {key for key in (tuple(row) for row in rows) if key in wanted}

    async def prune_ledger(self, before: float) -> int:
        return _count_of(await self.pool.execute("DELETE FROM ledger WHERE delivered_at < $1", before))

    # --- settling ---------------------------------------------------------------------------------

    async def apply(self, operations: Sequence[Operation]) -> None:
        if not operations:
            return
        # Settling does not wait for the disk, as on SQLite (synchronous=NORMAL): a server crash
        # can forget the last moment's settlements, whose events are then delivered again, never
        # lost. What is accepted still waits for the disk.
        single = one_statement(operations)
        if single is not None:  # the usual group: one round trip, its own transaction
            statement, arguments = single
            await self.pool.execute(statement, *arguments)
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit = off")
                for kind, run in runs_of_one_kind(operations):
                    await APPLY[kind](conn, run)
        self._claims.applied(operations)

    # --- parked deliveries ----------------------------------------------------------------------

    async def claim_due(self, owner: str, limit: int, lease: float) -> list[ParkedDelivery]:
        rows = await self.pool.fetch(
            f"UPDATE parked SET claimed_by = $1, lease_until = {NOW} + $2 WHERE id IN (SELECT id FROM parked"
            f" WHERE next_attempt_at <= $3 AND (claimed_by IS NULL OR lease_until < {NOW})"
            f" ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING {_PARKED}",
            owner,
            lease,
            time.time(),  # due by the clock that scheduled it
            limit,
        )
        return sorted(map(_parked, rows), key=lambda p: (p.next_attempt_at, p.id))

    async def next_due_at(self) -> float | None:
        value = await self.pool.fetchval("SELECT MIN(next_attempt_at) FROM parked")
        return None if value is None else float(value)

    async def parked(self, destination: str | None = None) -> list[ParkedDelivery]:
        if destination:
            query = f"SELECT {_PARKED} FROM parked WHERE destination = $1 ORDER BY next_attempt_at, id"
            return [_parked(row) for row in await self.pool.fetch(query, destination)]
        return [_parked(row) for row in await self.pool.fetch(f"SELECT {_PARKED} FROM parked ORDER BY next_attempt_at, id")]

    async def parked_count(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM parked"))

    # --- dead letters ---------------------------------------------------------------------------

    async def dead_letters(self, code: str | None = None, ids: Collection[int] | None = None) -> list[DeadLetter]:
        rows = await self.pool.fetch(
            "SELECT * FROM dead_letters WHERE ($1::text IS NULL OR error_code = $1)"
            " AND ($2::bigint[] IS NULL OR id = ANY($2)) ORDER BY id",
            code,
            None if ids is None else list(ids),
        )
        return [DeadLetter(*(json.loads(v) if name == "event" else v for name, v in row.items())) for row in rows]

    async def purge_dead_letters(self, before: float | None = None) -> int:
        if before is None:
            return _count_of(await self.pool.execute("DELETE FROM dead_letters"))
        return _count_of(await self.pool.execute("DELETE FROM dead_letters WHERE last_seen < $1", before))

    # --- the inbox ------------------------------------------------------------------------------

    async def accept(self, events: Sequence[tuple[str, str]], received_at: float) -> None:
        # One statement, its own transaction (committed once on the disk): the notification
        # goes out with the commit.
        await self.pool.execute(
            "WITH accepted AS (INSERT INTO inbox (partition_id, received_at, event)"
            " SELECT unnest($1::int[]), $2, unnest($3::text[])) SELECT pg_notify($4, '')",
            [partition_of(person) for person, _ in events],
            received_at,
            [text for _, text in events],
            self._channel,
        )

    async def claim_inbox(self, owner: str, partitions: Collection[int], limit: int) -> list[InboxEvent]:
        if not partitions or limit <= 0:
            return []
        async with self._claims.lock:
            rows = await self.pool.fetch(
                "SELECT id, partition_id, received_at, event FROM inbox WHERE partition_id = ANY($1::int[])"
                " AND id <> ALL($2::bigint[]) ORDER BY id LIMIT $3",
                list(partitions),
                self._claims.held(owner),
                limit,
            )
            claimed = [InboxEvent(*row) for row in rows]
            self._claims.add(owner, claimed)
        return claimed

    async def inbox_depth(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM inbox"))

    async def watch_inbox(self, wake: Callable[[], None]) -> bool:
        if self._listener is None:
            self._listener = await self._connect(single=True)
            await self._listener.add_listener(self._channel, lambda *_: wake())
        return True

    # --- processes and their leases -------------------------------------------------------------

    async def heartbeat(self, owner: str, role: str, lease: float) -> list[int]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO workers VALUES ($1, $2, $3, $4, {NOW}, {NOW})"
                " ON CONFLICT (worker) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                owner,
                role,
                socket.gethostname(),
                os.getpid(),
            )
            await conn.execute(
                f"UPDATE partitions SET lease_until = {NOW} + $2 WHERE owner = $1 AND lease_until >= {NOW}", owner, lease
            )
            await conn.execute(
                f"UPDATE parked SET lease_until = {NOW} + $2 WHERE claimed_by = $1 AND lease_until >= {NOW}", owner, lease
            )
            await conn.execute(f"DELETE FROM workers WHERE heartbeat_at < {NOW} - $1", max(10 * lease, 600))
            rows = await conn.fetch(f"SELECT partition_id FROM partitions WHERE owner = $1 AND lease_until >= {NOW}", owner)
        return [int(row[0]) for row in rows]

    async def acquire_partitions(self, owner: str, count: int, lease: float) -> list[int]:
        if count <= 0:
            return []
        rows = await self.pool.fetch(
            f"UPDATE partitions SET owner = $1, lease_until = {NOW} + $2 WHERE partition_id IN (SELECT partition_id"
            f" FROM partitions WHERE owner IS NULL OR lease_until < {NOW} ORDER BY partition_id LIMIT $3"
            " FOR UPDATE SKIP LOCKED) RETURNING partition_id",
            owner,
            lease,
            count,
        )
        return sorted(int(row[0]) for row in rows)

    async def release_partitions(self, owner: str, partitions: Collection[int]) -> None:
        if partitions:
            async with self._claims.lock:  # after a claim on its way: the rows it took of them are let go too
                await self.pool.execute(
                    "UPDATE partitions SET owner = NULL, lease_until = NULL WHERE owner = $1 AND partition_id = ANY($2::int[])",
                    owner,
                    list(partitions),
                )
                self._claims.release(owner, set(partitions))

    async def live_workers(self, lease: float) -> int:
        query = f"SELECT COUNT(*) FROM workers WHERE role = 'delivery' AND heartbeat_at >= {NOW} - $1"
        return int(await self.pool.fetchval(query, lease))

    async def retire(self, owner: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE partitions SET owner = NULL, lease_until = NULL WHERE owner = $1", owner)
            await conn.execute("UPDATE parked SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1", owner)
            await conn.execute("DELETE FROM workers WHERE worker = $1", owner)
        self._claims.retire(owner)

    # --- profiles -------------------------------------------------------------------------------

    async def profile(self, destination: str, namespace: str, identity: str) -> StoredProfile | None:
        row = await self.pool.fetchrow(
            "SELECT segments, attributes, updated_at FROM profiles WHERE destination = $1 AND namespace = $2 AND identity = $3",
            destination,
            namespace,
            identity,
        )
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
        async with self.pool.acquire() as conn, conn.transaction():
            for namespace, identity in identities.items():
                key = (destination, namespace, identity)
                # Create the row if needed, then lock it: two processes changing one profile take turns.
                await conn.execute("INSERT INTO profiles VALUES ($1, $2, $3, '[]', '{}', $4) ON CONFLICT DO NOTHING", *key, now)
                row = await conn.fetchrow(
                    "SELECT segments, attributes, updated_at FROM profiles"
                    " WHERE destination = $1 AND namespace = $2 AND identity = $3 FOR UPDATE",
                    *key,
                )
                current = StoredProfile(json.loads(row[0]), json.loads(row[1]), float(row[2]))
                segments, kept = merge_profile(current, entered, exited, attributes)
                await conn.execute(
                    "UPDATE profiles SET segments = $4, attributes = $5, updated_at = $6"
                    " WHERE destination = $1 AND namespace = $2 AND identity = $3",
                    *key,
                    json.dumps(segments),
                    json.dumps(kept, ensure_ascii=False),
                    now,
                )

    async def profile_count(self, destination: str) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM profiles WHERE destination = $1", destination))

    # --- tokens ---------------------------------------------------------------------------------

    async def load_token(self, key: str) -> dict[str, Any] | None:
        value = await self.pool.fetchval("SELECT value FROM tokens WHERE key = $1", key)
        return None if value is None else dict(json.loads(value))

    async def save_token(self, key: str, value: dict[str, Any]) -> None:
        await self.pool.execute(
            "INSERT INTO tokens VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            key,
            json.dumps(value),
            time.time(),
        )

    # --- looking after it -----------------------------------------------------------------------

    async def status(self, lease: float) -> StoreStatus:
        async with self.pool.acquire() as conn:
            counts = await conn.fetchrow(
                "SELECT (SELECT COALESCE(MAX(version), 0) FROM schema_versions), (SELECT COUNT(*) FROM inbox),"
                " (SELECT MIN(received_at) FROM inbox), (SELECT COUNT(*) FROM parked),"
                " (SELECT MIN(next_attempt_at) FROM parked), (SELECT COUNT(*) FROM dead_letters),"
                " (SELECT COUNT(*) FROM ledger), (SELECT COUNT(*) FROM partitions),"
                " EXISTS (SELECT 1 FROM meta WHERE name = 'purpose' AND value = 'rehearsal')"
            )
            workers = await conn.fetch(
                "SELECT worker, role, host, pid, started_at, heartbeat_at,"
                f" (SELECT COUNT(*) FROM partitions p WHERE p.owner = w.worker AND p.lease_until >= {NOW}),"
                f" (SELECT COUNT(*) FROM parked k WHERE k.claimed_by = w.worker AND k.lease_until >= {NOW})"
                f" FROM workers w WHERE heartbeat_at >= {NOW} - $1 ORDER BY started_at",
                lease,
            )
        return StoreStatus(
            self.backend,
            self.location,
            int(counts[0]),
            int(counts[1]),
            counts[2],
            int(counts[3]),
            counts[4],
            int(counts[5]),
            int(counts[6]),
            int(counts[7]),
            bool(counts[8]),
            [WorkerLease(*row) for row in workers],
        )


def _count_of(status: str) -> int:
    """Rows touched, from asyncpg's command status (``DELETE 12``)."""
    return int(status.rsplit(" ", 1)[-1])
