"""Why the PostgreSQL store speaks asyncpg: the store's two hot statements timed with asyncpg and
with psycopg 3, on the same server, in the same run.

- accept: one Segment batch of 100 events stored in one transaction (what every /v1/batch does);
- claim and settle: a page of 256 inbox events claimed (UPDATE ... FOR UPDATE SKIP LOCKED
  RETURNING), then marked delivered and removed, in one transaction (what a worker does).

    python benchmarks/state_drivers.py [--rounds 300] [--runs 3]

psycopg is not a destkit dependency: ``pip install 'psycopg[binary]'`` to include it (without
it, only asyncpg is timed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import asyncpg
from common import postgresql

SCHEMA = """
DROP TABLE IF EXISTS inbox; DROP TABLE IF EXISTS ledger;
CREATE TABLE inbox (id BIGSERIAL PRIMARY KEY, partition_id INT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
                    event TEXT NOT NULL, claimed_by TEXT);
CREATE TABLE ledger (message_id TEXT, destination TEXT, subscription TEXT, delivered_at DOUBLE PRECISION,
                     PRIMARY KEY (message_id, destination, subscription));
"""
EVENT = json.dumps({"type": "track", "userId": "user-1", "event": "Product Viewed", "properties": {"sku": "s", "price": 9.99}})
INSERT = "INSERT INTO inbox (partition_id, received_at, event) SELECT * FROM unnest({0}::int[], {1}::float8[], {2}::text[])"
CLAIM = (
    "UPDATE inbox SET claimed_by = {0} WHERE id IN (SELECT id FROM inbox WHERE partition_id = ANY({1}::int[])"
    " AND claimed_by IS DISTINCT FROM {0} ORDER BY id LIMIT {2} FOR UPDATE SKIP LOCKED) RETURNING id"
)
MARK = "INSERT INTO ledger SELECT m, 'd', 's', {1} FROM unnest({0}::text[]) AS m ON CONFLICT DO NOTHING"
DELETE = "DELETE FROM inbox WHERE id = ANY({0}::bigint[])"


def batch() -> tuple[list[int], list[float], list[str]]:
    return [n % 256 for n in range(100)], [time.time()] * 100, [EVENT] * 100


async def with_asyncpg(url: str, rounds: int) -> dict[str, float]:
    def sql(text: str) -> str:
        return text.format("$1", "$2", "$3")

    pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
        started = time.perf_counter()
        for _ in range(rounds):
            async with conn.transaction():
                await conn.execute(sql(INSERT), *batch())
        accept = (time.perf_counter() - started) / rounds
        pages, started = 0, time.perf_counter()
        while rows := await conn.fetch(sql(CLAIM), "me", list(range(256)), 256):
            ids = [row[0] for row in rows]
            async with conn.transaction():
                await conn.execute(MARK.format("$1", "$2"), [f"m{i}" for i in ids], time.time())
                await conn.execute(DELETE.format("$1"), ids)
            pages += 1
        settle = (time.perf_counter() - started) / pages
    await pool.close()
    return {"accept 100 (ms)": accept * 1000, "claim and settle 256 (ms)": settle * 1000}


async def with_psycopg(url: str, rounds: int) -> dict[str, float]:
    import psycopg

    def sql(text: str) -> str:
        return text.format("%s", "%s", "%s")

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(SCHEMA)
        started = time.perf_counter()
        for _ in range(rounds):
            async with conn.transaction():
                await conn.execute(sql(INSERT), batch(), prepare=True)
        accept = (time.perf_counter() - started) / rounds
        pages, started = 0, time.perf_counter()
        while True:
            claim = CLAIM.format("%(me)s", "%(parts)s", "%(limit)s")
            cursor = await conn.execute(claim, {"me": "me", "parts": list(range(256)), "limit": 256}, prepare=True)
            ids = [row[0] for row in await cursor.fetchall()]
            if not ids:
                break
            async with conn.transaction():
                mark = MARK.format("%(ids)s", "%(at)s")
                await conn.execute(mark, {"ids": [f"m{i}" for i in ids], "at": time.time()}, prepare=True)
                await conn.execute(DELETE.format("%s"), (ids,), prepare=True)
            pages += 1
        settle = (time.perf_counter() - started) / pages
    return {"accept 100 (ms)": accept * 1000, "claim and settle 256 (ms)": settle * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        drivers: dict[str, Any] = {"asyncpg": with_asyncpg}
    else:
        drivers = {"asyncpg": with_asyncpg, "psycopg": with_psycopg}
    results: dict[str, Any] = {}
    with postgresql() as url:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in drivers}
        for _ in range(args.runs):  # alternate, so that both meet the same machine
            for name, run in drivers.items():
                runs[name].append(asyncio.run(run(url, args.rounds)))
    for name, measured in runs.items():
        results[name] = {key: round(statistics.median(m[key] for m in measured), 2) for key in measured[0]}
    if "psycopg" in results:
        results["psycopg / asyncpg time"] = {
            key: round(results["psycopg"][key] / results["asyncpg"][key], 2) for key in results["asyncpg"]
        }
    results["settings"] = {"rounds": args.rounds, "runs": args.runs}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
