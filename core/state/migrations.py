"""The state store's schema, as numbered migrations for each backend.

A store records the version it is at (SQLite: ``PRAGMA user_version``; PostgreSQL: the
``schema_versions`` table). Opening a store for writing applies the migrations it lacks, in
one transaction; on PostgreSQL under an advisory lock, so that several processes starting at
once apply each migration exactly once. A store at a version newer than this destkit knows is
refused, so an older destkit never writes into a schema it does not understand.

The two lists are numbered apart: SQLite files have existed since version 1 and keep their
history; PostgreSQL starts with everything SQLite reached at its version 4. A future change
adds one migration to each list.
"""

from __future__ import annotations

from dataclasses import dataclass

from .contract import PARTITIONS, StateError

__all__ = ["Migration", "SQLITE", "POSTGRESQL", "statements", "still_to_apply"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


def still_to_apply(location: str, version: int, migrations: list[Migration]) -> list[Migration]:
    """The migrations a store at ``version`` lacks; refused when a newer destkit wrote it."""
    known = migrations[-1].version
    if version > known:
        raise StateError(f"{location}: written by a newer destkit (schema {version}; this one knows {known}): upgrade destkit")
    return migrations[version:]


def statements(sql: str) -> list[str]:
    """A migration's statements (they hold no semicolons inside literals)."""
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


SQLITE: list[Migration] = [
    Migration(
        1,
        "the ledger, parked deliveries, dead letters",
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
        CREATE INDEX dead_letters_code ON dead_letters (error_code)
        """,
    ),
    Migration(
        2,
        "the service's inbox",
        "CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, event TEXT NOT NULL)",
    ),
    Migration(
        3,
        "profiles kept by profile-request destinations",
        """
        CREATE TABLE profiles (
            destination TEXT NOT NULL,
            namespace TEXT NOT NULL,
            identity TEXT NOT NULL,
            segments TEXT NOT NULL,
            attributes TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (destination, namespace, identity)
        ) WITHOUT ROWID
        """,
    ),
    Migration(
        4,
        "partitions, leases and claims for several processes; retention; refreshed tokens",
        f"""
        ALTER TABLE inbox ADD COLUMN partition_id INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
        CREATE INDEX inbox_partition ON inbox (partition_id, id);
        ALTER TABLE parked ADD COLUMN claimed_by TEXT;
        ALTER TABLE parked ADD COLUMN lease_until REAL;
        CREATE INDEX ledger_age ON ledger (delivered_at);
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE workers (
            worker TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE partitions (partition_id INTEGER PRIMARY KEY, owner TEXT, lease_until REAL);
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {PARTITIONS})
            INSERT INTO partitions (partition_id) SELECT i FROM n;
        UPDATE inbox SET partition_id = destkit_partition(event);
        CREATE TABLE tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL) WITHOUT ROWID
        """,
    ),
]

POSTGRESQL: list[Migration] = [
    Migration(
        1,
        "the ledger, parked deliveries, dead letters, the inbox and its partitions, profiles, tokens",
        f"""
        CREATE TABLE ledger (
            message_id TEXT NOT NULL,
            destination TEXT NOT NULL,
            subscription TEXT NOT NULL,
            delivered_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (message_id, destination, subscription)
        );
        CREATE INDEX ledger_age ON ledger (delivered_at);
        CREATE TABLE parked (
            id BIGSERIAL PRIMARY KEY,
            message_id TEXT NOT NULL,
            destination TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            parkings INTEGER NOT NULL DEFAULT 1,
            error_code TEXT NOT NULL,
            error_message TEXT NOT NULL,
            first_seen DOUBLE PRECISION NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            give_up_at DOUBLE PRECISION NOT NULL,
            claimed_by TEXT,
            lease_until DOUBLE PRECISION,
            UNIQUE (message_id, destination, subscription)
        );
        CREATE INDEX parked_due ON parked (next_attempt_at);
        CREATE TABLE dead_letters (
            id BIGSERIAL PRIMARY KEY,
            message_id TEXT NOT NULL,
            destination TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event TEXT NOT NULL,
            mapping_hash TEXT NOT NULL,
            error_code TEXT NOT NULL,
            error_message TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_seen DOUBLE PRECISION NOT NULL,
            last_seen DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX dead_letters_code ON dead_letters (error_code);
        CREATE TABLE inbox (
            id BIGSERIAL PRIMARY KEY,
            partition_id INTEGER NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            event TEXT NOT NULL,
            claimed_by TEXT
        );
        CREATE INDEX inbox_partition ON inbox (partition_id, id);
        CREATE TABLE profiles (
            destination TEXT NOT NULL,
            namespace TEXT NOT NULL,
            identity TEXT NOT NULL,
            segments TEXT NOT NULL,
            attributes TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (destination, namespace, identity)
        );
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE workers (
            worker TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE partitions (partition_id INTEGER PRIMARY KEY, owner TEXT, lease_until DOUBLE PRECISION);
        INSERT INTO partitions (partition_id) SELECT generate_series(0, {PARTITIONS - 1});
        CREATE TABLE tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
        """,
    ),
]
