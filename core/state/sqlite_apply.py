"""How each settling operation is written into an SQLite store: a few statements per run of one kind.

The frequent kinds never go through ``executemany``: that steps once per row, and each step
hands the GIL to the event loop and back, which made the loop of a live replay wait for the
store thread about 10% of its time. Ledger marks (and the inbox's accepted events) are rows of
values (:func:`insert_values`): bound as they are, their text is not escaped into JSON and
back, nor a time turned into text and back, which cost as much as the insert itself. Inbox
acknowledgements and deliveries leaving the parking lot or the dead letters are ids, bound as
one JSON array (``json_each``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any

from .records import Ack, Bury, MarkDelivered, Park, ResolveDeadLetter, TouchDeadLetter, Unpark

__all__ = ["APPLY", "insert_values"]

#: Rows in one statement of :func:`insert_values`, at most (a power of two).
MOST_ROWS = 128


def insert_values(db: sqlite3.Connection, insert: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``insert`` (``INSERT ... INTO table (columns)``, to which ``VALUES`` is added) for every
    row, in statements of a power of two rows each, as large as the connection's argument limit
    allows (170 rows: 128, 32, 8 and 2). The connection keeps each statement it has prepared: a
    statement for every count of rows kept about 11 MB of them in a replay process."""
    if not rows:
        return
    width = len(rows[0])
    most = max(1, min(MOST_ROWS, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    start = 0
    while start < len(rows):
        size = min(most, 1 << ((len(rows) - start).bit_length() - 1))
        block = rows[start : start + size]
        db.execute(_values_statement(insert, width, size), [value for row in block for value in row])
        start += size


@lru_cache(maxsize=64)
def _values_statement(insert: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"{insert} VALUES " + ", ".join([row] * rows)


def _delete(table: str, field: str) -> Callable[[sqlite3.Connection, list[Any]], None]:
    """Delete, in one statement, the rows of ``table`` whose ids the operations of a run give in
    ``field`` (those without one name no row)."""
    get = attrgetter(field)

    def delete(db: sqlite3.Connection, run: list[Any]) -> None:
        ids = [row_id for row_id in map(get, run) if row_id is not None]
        if ids:
            db.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))

    return delete


_unpark = _delete("parked", "parked_id")


def _mark(db: sqlite3.Connection, run: list[MarkDelivered]) -> None:
    insert_values(
        db,
        "INSERT OR REPLACE INTO ledger (message_id, destination, subscription, delivered_at)",
        [(*op.key, op.at) for op in run],
    )


def _park(db: sqlite3.Connection, run: list[Park]) -> None:
    db.executemany(
        "INSERT INTO parked (message_id, destination, subscription, event, attempts, error_code, error_message,"
        " first_seen, next_attempt_at, give_up_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (message_id, destination, subscription) DO UPDATE SET attempts = attempts + excluded.attempts,"
        " parkings = parkings + 1, error_code = excluded.error_code, error_message = excluded.error_message,"
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


def _bury(db: sqlite3.Connection, run: list[Bury]) -> None:
    _unpark(db, run)
    db.executemany(
        "INSERT INTO dead_letters (message_id, destination, subscription, event, mapping_hash, error_code, error_message,"
        " attempts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (*op.key, json.dumps(op.event), op.mapping_hash, op.error_code, op.error_message, op.attempts, op.first_seen, op.at)
            for op in run
        ],
    )


def _touch(db: sqlite3.Connection, run: list[TouchDeadLetter]) -> None:
    db.executemany(
        "UPDATE dead_letters SET attempts = attempts + ?, error_code = ?, error_message = ?, last_seen = ? WHERE id = ?",
        [(op.attempts, op.error_code, op.error_message, op.at, op.dead_letter_id) for op in run],
    )


APPLY: dict[type, Callable[[sqlite3.Connection, list[Any]], object]] = {
    MarkDelivered: _mark,
    Park: _park,
    Unpark: _unpark,
    Bury: _bury,
    Ack: _delete("inbox", "inbox_id"),
    ResolveDeadLetter: _delete("dead_letters", "dead_letter_id"),
    TouchDeadLetter: _touch,
}
