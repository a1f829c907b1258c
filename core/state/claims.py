"""Inbox claims: the events each delivery process has taken and not yet settled.

A claim only keeps its owner from being handed the same events twice. No other process ever
reads it: a partition's next holder claims the events again, whatever the previous one had
taken (that is how a dead process's work is taken over). So claims live in the process that
makes them, not in the store: claiming the next page is a read, and writes nothing per event
(writing the claimer's name into each row cost PostgreSQL an update of every event between its
insertion and its deletion, the largest share of its work per delivered event).

Both backends keep one :class:`InboxClaims` per open store and exclude an owner's claims from
what they hand it next. A claim ends when its event is acknowledged, when its owner gives the
partition back (nothing of it is in flight then, and the events claimed meanwhile were left to
the next holder: this process again, perhaps) and when its owner retires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from .records import Ack, InboxEvent, Operation

__all__ = ["InboxClaims"]


class InboxClaims:
    def __init__(self) -> None:
        self._owners: dict[str, dict[int, int]] = {}  # owner -> inbox id -> partition
        #: Held around each claim, so that two claims by one owner never take the same events.
        self.lock = asyncio.Lock()

    def held(self, owner: str) -> list[int]:
        """The inbox ids ``owner`` has claimed and not settled."""
        return list(self._owners.get(owner, ()))

    def add(self, owner: str, events: Iterable[InboxEvent]) -> None:
        claims = self._owners.setdefault(owner, {})
        for event in events:
            claims[event.id] = event.partition

    def applied(self, operations: Iterable[Operation]) -> None:
        """Operations were committed: the events they acknowledged are no one's claims now."""
        acknowledged = [op.inbox_id for op in operations if type(op) is Ack]
        for claims in self._owners.values():
            for inbox_id in acknowledged:
                claims.pop(inbox_id, None)

    def release(self, owner: str, partitions: Collection[int]) -> None:
        claims = self._owners.get(owner, {})
        for inbox_id in [inbox_id for inbox_id, partition in claims.items() if partition in partitions]:
            del claims[inbox_id]

    def retire(self, owner: str) -> None:
        self._owners.pop(owner, None)
