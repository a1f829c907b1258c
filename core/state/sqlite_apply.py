"""How each settling operation is written into an SQLite store: one statement per run of one kind.

The frequent kinds (ledger marks, inbox acknowledgements, deliveries leaving the parking lot or
the dead letters) go as one JSON array bound to one statement (:func:`json_rows`), not through
``executemany``: that steps once per row, and each step hands the GIL to the event loop and
back, which made the loop of a live replay wait for the store thread about 10% of its time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from .records import Ack, Bury, MarkDelivered, Park, ResolveDeadLetter, TouchDeadLetter, Unpark

__all__ = ["APPLY", "json_rows"]


def json_rows(columns: int) -> str:
    """A ``SELECT`` of the rows of one bound JSON array of arrays (``[[a, b], [c, d]]``), each
    inner array's items as ``columns`` columns: many rows in one statement, one step."""
    return "SELECT " + ", ".join(f"json_extract(value, '$[{at}]')" for at in range(columns)) + " FROM json_each(?)"


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
    db.execute(
        f"INSERT OR REPLACE INTO ledger {json_rows(4)}", (json.dumps([(*op.key, op.at) for op in run], ensure_ascii=False),)
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
