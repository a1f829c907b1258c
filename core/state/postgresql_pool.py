"""The PostgreSQL database under a store: its pool of connections, the schema brought up to
date when it opens, and the one connection that listens for new events.

The driver is asyncpg (``benchmarks/state_drivers.py``: it stores a 100-event batch about
three times faster than psycopg 3 here, and claims and settles as fast). Errors reaching the
server become :class:`~destkit.state.StateError` a person can act on (credentials refused,
no such database, server unreachable), the password never shown.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from . import migrations
from .contract import StateError
from .locations import PostgreSQLLocation

__all__ = ["PostgreSQLDatabase"]


class PostgreSQLDatabase:
    """The pool (``?pool_size=N``, 10 by default) in the store's own schema (``?schema=NAME``,
    ``destkit`` by default), so that a database can hold several stores."""

    def __init__(self, where: PostgreSQLLocation, *, create: bool = True) -> None:
        self.where = where
        self.location = where.display
        self.create = create
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._channel = f"destkit_inbox_{where.schema}"

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StateError(f"{self.location}: the state store is not open")
        return self._pool

    async def _connect(self, **options: Any) -> Any:
        """A pool (or, with ``single=True``, one connection), with errors a person can act on."""
        single = options.pop("single", False)
        # Every statement is planned with its arguments: the inbox fills and empties and the ledger
        # grows by thousands of rows a second, far ahead of the statistics, and a plan made once for
        # any arguments while a table was empty (asyncpg keeps statements prepared for the
        # connection's life) went on scanning the whole ledger for each page of events.
        settings = {"search_path": self.where.schema, "application_name": "destkit", "plan_cache_mode": "force_custom_plan"}
        try:
            if single:
                return await asyncpg.connect(self.where.dsn, server_settings=settings, timeout=10)
            return await asyncpg.create_pool(self.where.dsn, server_settings=settings, timeout=10, **options)
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
            raise StateError(f"{self.location}: PostgreSQL refused the credentials of user {self.where.user!r} ({exc})") from None
        except asyncpg.InvalidCatalogNameError:
            raise StateError(f"{self.location}: database {self.where.database!r} does not exist on that server") from None
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise StateError(f"{self.location}: cannot reach PostgreSQL at {self.where.server} ({reason})") from None
        except asyncpg.PostgresError as exc:
            raise StateError(f"{self.location}: PostgreSQL refused the connection ({exc})") from None

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._pool = await self._connect(min_size=1, max_size=self.where.pool_size, command_timeout=60, reset=_nothing_to_reset)
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def _migrate(self) -> None:
        schema = _quoted(self.where.schema)
        async with self.pool.acquire() as conn, conn.transaction():
            # Several processes starting at once: one migrates, the others wait and find it done.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"destkit-migrate:{self.where.schema}")
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.schema_versions")
            if not exists and not self.create:
                raise StateError(
                    f"{self.location}: no destkit state store in schema {self.where.schema!r} yet "
                    "(the first destkit serve, worker or replay with this --state creates it; or run destkit state migrate)"
                )
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_versions"
                " (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            version = int(await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_versions"))
            for migration in migrations.still_to_apply(self.location, version, migrations.POSTGRESQL):
                for statement in migrations.statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_versions (version, description) VALUES ($1, $2)",
                    migration.version,
                    migration.description,
                )

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def schema_version(self) -> int:
        return int(await self.pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_versions"))


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A connection given back to the pool needs no reset query: the store leaves no session
    state behind (only ``SET LOCAL`` and transaction locks, no ``LISTEN``, no cursors), and the
    default reset cost a round trip for every statement. asyncpg still rolls back a transaction
    left open."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
