"""How each settling operation is written into a PostgreSQL store: one statement per run of one kind."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from .records import Ack, Bury, MarkDelivered, Park, ResolveDeadLetter, TouchDeadLetter, Unpark

__all__ = ["APPLY"]


async def _mark(conn: asyncpg.Connection, run: list[MarkDelivered]) -> None:
    # One statement for the whole run (row by row, a group of a few hundred took ~70 ms); a key
    # may come twice in one run, and ON CONFLICT cannot touch a row twice in one statement.
    latest = {op.key: op.at for op in run}
    await conn.execute(
        "INSERT INTO ledger SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])"
        " ON CONFLICT (message_id, destination, subscription) DO UPDATE SET delivered_at = excluded.delivered_at",
        [key[0] for key in latest],
        [key[1] for key in latest],
        [key[2] for key in latest],
        list(latest.values()),
    )


async def _park(conn: asyncpg.Connection, run: list[Park]) -> None:
    await conn.executemany(
        "INSERT INTO parked (message_id, destination, subscription, event, attempts, error_code, error_message,"
        " first_seen, next_attempt_at, give_up_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (message_id, destination, subscription) DO UPDATE SET attempts = parked.attempts + excluded.attempts,"
        " parkings = parked.parkings + 1, error_code = excluded.error_code, error_message = excluded.error_message,"
        " next_attempt_at = excluded.next_attempt_at, claimed_by = NULL, lease_until = NULL",
        [
            (
                *op.key,
                json.dumps(op.event),
                op.attempts,
                op.error_code,
                op.error_message,
                op.at,
                op.next_attempt_at,
                op.give_up_at,
            )
            for op in run
        ],
    )


async def _bury(conn: asyncpg.Connection, run: list[Bury]) -> None:
    await conn.execute(
        "DELETE FROM parked WHERE id = ANY($1::bigint[])", [op.parked_id for op in run if op.parked_id is not None]
    )
    await conn.executemany(
        "INSERT INTO dead_letters (message_id, destination, subscription, event, mapping_hash, error_code, error_message,"
        " attempts, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            (*op.key, json.dumps(op.event), op.mapping_hash, op.error_code, op.error_message, op.attempts, op.first_seen, op.at)
            for op in run
        ],
    )


async def _touch(conn: asyncpg.Connection, run: list[TouchDeadLetter]) -> None:
    await conn.executemany(
        "UPDATE dead_letters SET attempts = attempts + $1, error_code = $2, error_message = $3, last_seen = $4 WHERE id = $5",
        [(op.attempts, op.error_code, op.error_message, op.at, op.dead_letter_id) for op in run],
    )


async def _delete(conn: asyncpg.Connection, table: str, ids: list[int]) -> None:
    await conn.execute(f"DELETE FROM {table} WHERE id = ANY($1::bigint[])", ids)


APPLY: dict[type, Callable[[asyncpg.Connection, list[Any]], Awaitable[object]]] = {
    MarkDelivered: _mark,
    Park: _park,
    Unpark: lambda conn, run: _delete(conn, "parked", [op.parked_id for op in run]),
    Bury: _bury,
    Ack: lambda conn, run: _delete(conn, "inbox", [op.inbox_id for op in run]),
    ResolveDeadLetter: lambda conn, run: _delete(conn, "dead_letters", [op.dead_letter_id for op in run]),
    TouchDeadLetter: _touch,
}
