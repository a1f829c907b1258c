"""What only the PostgreSQL backend does: connecting, its errors, migrating under a lock, notifying."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from destkit.state import Ack, MarkDelivered, Operation, Park, StateError, StateStore, open_store
from destkit.state.locations import parse_postgresql
from destkit.state.migrations import POSTGRESQL
from destkit.state.postgresql import PostgreSQLStore
from destkit.state.postgresql_pool import PostgreSQLDatabase
from tests.postgres import PASSWORD, PostgresServer


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda pg: pg.url(user="destkit_pw", password="wrong-secret-123"), "refused the credentials of user 'destkit_pw'"),
        (lambda pg: "postgresql://someone:wrong-secret-123@127.0.0.1:1/db", "cannot reach PostgreSQL at 127.0.0.1:1"),
        (
            lambda pg: pg.url(user="destkit_pw", password=PASSWORD).replace("/postgres?", "/no_such_db?"),
            "database 'no_such_db' does not exist",
        ),
    ],
    ids=["bad credentials", "unreachable", "no database"],
)
async def test_connection_problems_are_clear_and_keep_the_password(
    postgres: PostgresServer, make_url: Callable[[PostgresServer], str], expected: str
) -> None:
    url = make_url(postgres)
    with pytest.raises(StateError) as raised:
        await open_store(url).open()
    message = str(raised.value)
    assert expected in message
    assert "wrong-secret-123" not in message and PASSWORD not in message
    assert ":***@" in message


async def test_a_password_login_works(postgres: PostgresServer) -> None:
    async with open_store(postgres.url(user="destkit_pw", password=PASSWORD)) as store:
        assert await store.schema_version() == POSTGRESQL[-1].version


async def test_the_database_under_a_store_migrates_its_schema_and_says_when_it_is_closed(postgres: PostgresServer) -> None:
    database = PostgreSQLDatabase(parse_postgresql(postgres.url("bare_database")))
    with pytest.raises(StateError, match="not open"):
        database.pool  # noqa: B018  # the property is what refuses
    await database.open()
    try:
        assert await database.schema_version() == POSTGRESQL[-1].version
        tables = await database.pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'bare_database'")
        assert {"ledger", "inbox", "parked", "dead_letters"} <= {row[0] for row in tables}
    finally:
        await database.close()
    with pytest.raises(StateError, match="not open"):
        database.pool  # noqa: B018


async def test_processes_starting_at_once_migrate_once(postgres: PostgresServer) -> None:
    url = postgres.url()
    stores = [open_store(url) for _ in range(6)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        assert {await store.schema_version() for store in stores} == {POSTGRESQL[-1].version}
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_a_schema_from_a_newer_destkit_is_refused(postgres: PostgresServer) -> None:
    url = postgres.url()
    async with open_store(url) as store:
        assert isinstance(store, PostgreSQLStore)
        await store.pool.execute("INSERT INTO schema_versions (version, description) VALUES ($1, 'future')", 999)
    with pytest.raises(StateError, match=r"newer destkit \(schema 999"):
        await open_store(url).open()


async def test_a_store_that_must_exist_is_not_created(postgres: PostgresServer) -> None:
    with pytest.raises(StateError, match="no destkit state store in schema"):
        await open_store(postgres.url(), create=False).open()


async def test_stores_in_separate_schemas_do_not_see_each_other(postgres: PostgresServer) -> None:
    async with open_store(postgres.url("one")) as one, open_store(postgres.url("two")) as two:
        await one.accept([("u1", "{}")], time.time())
        assert (await one.inbox_depth(), await two.inbox_depth()) == (1, 0)


async def test_accepted_events_wake_workers_of_other_processes(postgres: PostgresServer) -> None:
    url = postgres.url()
    async with open_store(url) as front_door, open_store(url) as worker:
        woken = asyncio.Event()
        assert await worker.watch_inbox(woken.set)
        await front_door.accept([("u1", "{}")], time.time())
        await asyncio.wait_for(woken.wait(), timeout=5)


async def test_statements_are_planned_with_their_arguments_as_tables_grow(postgres: PostgresServer) -> None:
    # A plan made once for any arguments, while the ledger was empty, scanned the whole ledger
    # for every page of events once it had filled (statistics lag behind such growth).
    async with open_store(postgres.url(pool_size="1")) as store:
        assert isinstance(store, PostgreSQLStore)
        keys = {(f"m-{n}", "sink", "all") for n in range(50)}
        for _ in range(8):
            assert await store.delivered(keys) == set()
        await store.apply([MarkDelivered((f"m-{n}", "sink", "all"), time.time()) for n in range(2000)])
        assert await store.delivered(keys) == keys
        generic = await store.pool.fetchval(
            "SELECT COALESCE(SUM(generic_plans), 0) FROM pg_prepared_statements WHERE cardinality(parameter_types) > 0"
        )
        assert generic == 0


#: How often the store's one connection waited for the write-ahead log to reach the disk, and
#: how many records it wrote into it.
WAL_FSYNCS = "SELECT COALESCE(SUM(fsyncs), 0) FROM pg_stat_get_backend_io(pg_backend_pid()) WHERE object = 'wal'"
WAL_RECORDS = "SELECT wal_records FROM pg_stat_get_backend_wal(pg_backend_pid())"


async def _own_statistic(store: StateStore, query: str) -> int:
    """A statistic of the store's one connection, as of now (a ``?pool_size=1`` store)."""
    assert isinstance(store, PostgreSQLStore)
    await store.pool.execute("SELECT pg_stat_force_next_flush()")
    return int(await store.pool.fetchval(query))


def _parking(at: float) -> Park:
    return Park(("m-parked", "sink", "all"), {"type": "track"}, 1, "TIMEOUT", "timed out", at + 60, at + 3600, at)


@pytest.mark.parametrize(
    "settling",
    [
        lambda ids, at: [MarkDelivered(("m1", "d", "s"), at), Ack(ids[0]), MarkDelivered(("m2", "d", "s"), at), Ack(ids[1])],
        lambda ids, at: [MarkDelivered(("m1", "d", "s"), at), Ack(ids[0]), _parking(at), Ack(ids[1])],
    ],
    ids=["delivered: one statement", "delivered and parked: a transaction"],
)
async def test_settling_does_not_wait_for_the_disk_and_accepting_does(
    postgres: PostgresServer, settling: Callable[[list[int], float], list[Operation]]
) -> None:
    async with open_store(postgres.url(pool_size="1")) as store:
        await store.accept([("u1", "{}"), ("u2", "{}")], time.time())
        ids = [event.id for event in await store.claim_inbox("w", range(256), 10)]
        before = await _own_statistic(store, WAL_FSYNCS)
        await store.apply(settling(ids, time.time()))
        assert await _own_statistic(store, WAL_FSYNCS) == before
        assert await store.inbox_depth() == 0
        await store.accept([("u3", "{}")], time.time())
        assert await _own_statistic(store, WAL_FSYNCS) == before + 1


async def test_claiming_events_writes_nothing(postgres: PostgresServer) -> None:
    async with open_store(postgres.url(pool_size="1")) as store:
        await store.accept([("u1", "{}"), ("u2", "{}")], time.time())
        before = await _own_statistic(store, WAL_RECORDS)
        assert len(await store.claim_inbox("w", range(256), 10)) == 2
        assert await _own_statistic(store, WAL_RECORDS) == before
