"""How each settling operation is written into an SQLite store: one statement per run of one kind."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from .records import Ack, Bury, MarkDelivered, Park, ResolveDeadLetter, TouchDeadLetter, Unpark

__all__ = ["APPLY"]


def _mark(db: sqlite3.Connection, run: list[MarkDelivered]) -> None:
    db.executemany("INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?)", [(*op.key, op.at) for op in run])


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
    db.executemany("DELETE FROM parked WHERE id = ?", [(op.parked_id,) for op in run if op.parked_id is not None])
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
    Unpark: lambda db, run: db.executemany("DELETE FROM parked WHERE id = ?", [(op.parked_id,) for op in run]),
    Bury: _bury,
    Ack: lambda db, run: db.executemany("DELETE FROM inbox WHERE id = ?", [(op.inbox_id,) for op in run]),
    ResolveDeadLetter: lambda db, run: db.executemany(
        "DELETE FROM dead_letters WHERE id = ?", [(op.dead_letter_id,) for op in run]
    ),
    TouchDeadLetter: _touch,
}
