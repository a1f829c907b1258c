"""Inbox claims kept in the process: what ends one, and what an owner still holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from destkit.state import Ack, MarkDelivered
from destkit.state.claims import InboxClaims
from destkit.state.records import InboxEvent


def claims_of_two_owners() -> InboxClaims:
    claims = InboxClaims()
    claims.add("a", [InboxEvent(1, 10, 0.0, "{}"), InboxEvent(2, 11, 0.0, "{}"), InboxEvent(3, 10, 0.0, "{}")])
    claims.add("b", [InboxEvent(4, 12, 0.0, "{}")])
    return claims


@pytest.mark.parametrize(
    ("change", "held_by_a", "held_by_b"),
    [
        (lambda claims: None, [1, 2, 3], [4]),
        (lambda claims: claims.applied([Ack(2), MarkDelivered(("m", "d", "s"), 0.0), Ack(4)]), [1, 3], []),
        (lambda claims: claims.release("a", {10}), [2], [4]),
        (lambda claims: claims.release("b", {10}), [1, 2, 3], [4]),
        (lambda claims: claims.retire("a"), [], [4]),
    ],
    ids=["claimed", "acknowledged", "partition given back", "another's partition", "retired"],
)
def test_what_ends_a_claim(change: Callable[[InboxClaims], object], held_by_a: list[int], held_by_b: list[int]) -> None:
    claims = claims_of_two_owners()
    change(claims)
    assert (sorted(claims.held("a")), claims.held("b")) == (held_by_a, held_by_b)
