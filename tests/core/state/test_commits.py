"""Group commit: many events' settlements in few transactions, with a bound on what is not committed."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from pathlib import Path

from destkit.state import CommitGroup, MarkDelivered, Operation, open_store
from destkit.state.sqlite import SQLiteStore


class GatedStore(SQLiteStore):
    """An SQLite store whose commits wait for a gate, and may fail a few times first."""

    def __init__(self, path: Path, failures: int = 0) -> None:
        super().__init__(path)
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = failures
        self.applied: list[int] = []

    async def apply(self, operations: Sequence[Operation]) -> None:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk I/O error")
        await super().apply(operations)
        self.applied.append(len(operations))


def mark(n: int) -> MarkDelivered:
    return MarkDelivered((f"m{n}", "d", "s"), time.time())


async def test_many_events_are_committed_in_few_transactions(tmp_path: Path) -> None:
    async with open_store(tmp_path / "s.db") as store:
        async with CommitGroup(store) as group:
            for n in range(1000):
                await group.add([mark(n)])
        assert group.committed_events == 1000
        assert group.transactions <= 20
        assert len(await store.delivered([mark(n).key for n in range(1000)])) == 1000


async def test_an_event_is_told_only_once_its_settlement_is_committed(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.db")
    async with store:
        store.gate.clear()
        told: list[int] = []
        async with CommitGroup(store) as group:
            for n in range(3):
                await group.add([mark(n)], functools.partial(told.append, n))
            await asyncio.sleep(0.05)
            assert told == [] and await store.delivered([mark(0).key]) == set()
            store.gate.set()
            await group.flush()
            assert told == [0, 1, 2]


async def test_adding_waits_while_a_full_group_is_not_committed(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.db")
    async with store:
        store.gate.clear()
        async with CommitGroup(store, limit=10) as group:
            for n in range(10):
                await group.add([mark(n)])
            late = asyncio.create_task(group.add([mark(10)]))
            await asyncio.sleep(0.05)
            assert not late.done()  # the bound: never more than `limit` events settled and not committed
            store.gate.set()
            await asyncio.wait_for(late, 5)
        assert sum(store.applied) == 11


async def test_a_failing_store_is_tried_again_and_loses_nothing(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "s.db", failures=2)
    async with store:
        async with CommitGroup(store) as group:
            await group.add([mark(1)])
            await asyncio.wait_for(group.flush(), 10)
        assert store.failures == 0
        assert await store.delivered([mark(1).key]) == {mark(1).key}


async def test_an_event_without_operations_is_told_at_once(tmp_path: Path) -> None:
    async with open_store(tmp_path / "s.db") as store, CommitGroup(store) as group:
        told: list[str] = []
        await group.add([], lambda: told.append("now"))
        assert told == ["now"]


def test_operations_are_applied_in_as_few_statements_as_their_order_allows() -> None:
    from destkit.state import Ack, Bury, Park, Unpark
    from destkit.state.records import runs_of_one_kind

    park = Park(("m", "d", "s"), {}, 1, "X", "x", 0.0, 1.0, 0.0)
    bury = Bury(("m", "d", "s"), {}, "", "X", "x", 1, 0.0, 0.0, 7)
    interleaved: list[Operation] = [mark(1), Ack(1), mark(2), Ack(2), park, Unpark(3), bury, mark(3), Ack(3)]
    runs = [(kind.__name__, len(run)) for kind, run in runs_of_one_kind(interleaved)]
    assert runs == [("MarkDelivered", 3), ("Park", 1), ("Unpark", 1), ("Bury", 1), ("Ack", 3)]
