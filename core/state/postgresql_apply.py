"""How settling operations are written into a PostgreSQL store.

Most groups hold only operations that record or delete by key (ledger marks, inbox
acknowledgements, unparkings, dead letters resolved): in any order they leave the same rows, so
:func:`one_statement` writes them all as one statement, a data-modifying ``WITH`` per kind with
its rows as arrays, which commits on its own without waiting for the disk. That is one round
trip per group instead of a transaction's five. A group that also parks, buries or touches a
dead letter (these may concern one delivery twice, in an order that matters) is applied by
:data:`APPLY`, one statement per run of one kind, in a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from .records import Ack, Bury, MarkDelivered, Operation, Park, ResolveDeadLetter, TouchDeadLetter, Unpark

__all__ = ["APPLY", "one_statement"]

#: Ends the statement of a whole group: its transaction commits without waiting for the disk
#: (what ``SET LOCAL synchronous_commit = off`` does for a transaction of several statements).
_NO_WAIT = "SELECT set_config('synchronous_commit', 'off', true)"


@dataclass(frozen=True)
class _ByKey:
    """An operation applied to a whole run by one statement whose arguments are arrays."""

    sql: str  # its arrays as {} placeholders, in order
    arrays: Callable[[list[Any]], list[list[Any]]]

    def render(self, first: int) -> str:
        """The statement, its arrays numbered from ``$first``."""
        return self.sql.format(*(f"${first + n}" for n in range(self.sql.count("{}"))))


def _ledger_rows(run: list[MarkDelivered]) -> list[list[Any]]:
    # A key may come twice in one run, and ON CONFLICT cannot touch a row twice in one statement.
    latest = {op.key: op.at for op in run}
    return [[key[0] for key in latest], [key[1] for key in latest], [key[2] for key in latest], list(latest.values())]


_BY_KEY: dict[type, _ByKey] = {
    MarkDelivered: _ByKey(
        # Row by row, a group of a few hundred took ~70 ms.
        "INSERT INTO ledger SELECT * FROM unnest({}::text[], {}::text[], {}::text[], {}::float8[])"
        " ON CONFLICT (message_id, destination, subscription) DO UPDATE SET delivered_at = excluded.delivered_at",
        _ledger_rows,
    ),
    Ack: _ByKey("DELETE FROM inbox WHERE id = ANY({}::bigint[])", lambda run: [[op.inbox_id for op in run]]),
    Unpark: _ByKey("DELETE FROM parked WHERE id = ANY({}::bigint[])", lambda run: [[op.parked_id for op in run]]),
    ResolveDeadLetter: _ByKey(
        "DELETE FROM dead_letters WHERE id = ANY({}::bigint[])", lambda run: [[op.dead_letter_id for op in run]]
    ),
}


def one_statement(operations: Sequence[Operation]) -> tuple[str, list[Any]] | None:
    """The operations as one statement and its arguments, if they all record or delete by key;
    None if some must be applied in order (:data:`APPLY`)."""
    if any(type(op) not in _BY_KEY for op in operations):
        return None
    parts: list[str] = []
    arguments: list[Any] = []
    for kind, by_key in _BY_KEY.items():  # a fixed order: few distinct statements to prepare
        run = [op for op in operations if type(op) is kind]
        if run:
            parts.append(f"{kind.__name__.lower()} AS ({by_key.render(len(arguments) + 1)})")
            arguments += by_key.arrays(run)
    return f"WITH {', '.join(parts)} {_NO_WAIT}", arguments


async def _by_key(conn: asyncpg.Connection, run: list[Any]) -> None:
    by_key = _BY_KEY[type(run[0])]
    await conn.execute(by_key.render(1), *by_key.arrays(run))


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
    await conn.execute(_BY_KEY[Unpark].render(1), [op.parked_id for op in run if op.parked_id is not None])
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


APPLY: dict[type, Callable[[asyncpg.Connection, list[Any]], Awaitable[object]]] = {
    MarkDelivered: _by_key,
    Park: _park,
    Unpark: _by_key,
    Bury: _bury,
    Ack: _by_key,
    ResolveDeadLetter: _by_key,
    TouchDeadLetter: _touch,
}
