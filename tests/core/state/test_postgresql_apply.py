"""How a PostgreSQL store writes a group of settling operations: one statement when their order cannot matter."""

from __future__ import annotations

import time

import pytest

from destkit.state import Ack, Bury, MarkDelivered, Operation, Park, ResolveDeadLetter, TouchDeadLetter, Unpark
from destkit.state.postgresql_apply import one_statement

NOW = time.time()
KEY = ("m1", "sink", "all")
OTHER = ("m2", "sink", "all")
BY_KEY: list[Operation] = [MarkDelivered(KEY, NOW), Ack(7), Unpark(3), ResolveDeadLetter(5), MarkDelivered(OTHER, NOW)]


def test_operations_by_key_make_one_statement_whatever_their_order() -> None:
    forward, backward = one_statement(BY_KEY), one_statement(BY_KEY[::-1])
    assert forward is not None and backward is not None
    assert forward[0] == backward[0]  # one statement to prepare, not one per order
    statement, arguments = forward
    assert statement.count("$") == len(arguments) == 7  # the ledger's four arrays, then one array each
    assert arguments[0] == ["m1", "m2"] and arguments[4:] == [[7], [3], [5]]


def test_a_key_marked_twice_is_written_once_with_its_latest_time() -> None:
    single = one_statement([MarkDelivered(KEY, 1.0), MarkDelivered(KEY, 2.0)])
    assert single is not None
    assert single[1] == [["m1"], ["sink"], ["all"], [2.0]]


@pytest.mark.parametrize(
    "ordered",
    [
        Park(KEY, {}, 1, "TIMEOUT", "x", NOW, NOW, NOW),
        Bury(KEY, {}, "hash", "BAD_REQUEST", "x", 1, NOW, NOW, 3),
        TouchDeadLetter(5, 1, "BAD_REQUEST", "x", NOW),
    ],
    ids=["park", "bury", "touch"],
)
def test_a_group_that_parks_or_buries_keeps_its_order_in_a_transaction(ordered: Operation) -> None:
    assert one_statement([*BY_KEY, ordered]) is None
