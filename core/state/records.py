"""What the state store keeps and hands back, and the changes it applies in one transaction.

Reads return the records (:class:`ParkedDelivery`, :class:`DeadLetter`, :class:`InboxEvent`...);
writes that settle deliveries are described as operations (:class:`MarkDelivered`, :class:`Park`,
:class:`Unpark`, :class:`Bury`, :class:`Ack`...) and applied together by
:meth:`~destkit.state.StateStore.apply`, so that many outcomes cost one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DeliveryKey",
    "ParkedDelivery",
    "DeadLetter",
    "InboxEvent",
    "StoredProfile",
    "WorkerLease",
    "StoreStatus",
    "MarkDelivered",
    "Park",
    "Unpark",
    "Bury",
    "Ack",
    "ResolveDeadLetter",
    "TouchDeadLetter",
    "Operation",
    "merge_profile",
    "runs_of_one_kind",
]

#: (messageId, destination, subscription): what the ledger records as delivered.
DeliveryKey = tuple[str, str, str]


@dataclass(frozen=True)
class ParkedDelivery:
    id: int
    message_id: str
    destination: str
    subscription: str
    event: dict[str, Any]
    attempts: int
    parkings: int
    error_code: str
    error_message: str
    first_seen: float
    next_attempt_at: float
    give_up_at: float

    @property
    def key(self) -> DeliveryKey:
        return (self.message_id, self.destination, self.subscription)


@dataclass(frozen=True)
class DeadLetter:
    id: int
    message_id: str
    destination: str
    subscription: str
    event: dict[str, Any]
    mapping_hash: str
    error_code: str
    error_message: str
    attempts: int
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """An accepted event claimed for delivery: ``event`` is its JSON text as stored."""

    id: int
    partition: int
    received_at: float
    event: str


@dataclass(frozen=True)
class StoredProfile:
    """What a destination keeps for one identity: audience ids in the order they were entered,
    and attributes by name."""

    segments: list[str]
    attributes: dict[str, Any]
    updated_at: float


@dataclass(frozen=True)
class WorkerLease:
    """A process that delivers from the store, as ``destkit state status`` shows it."""

    worker: str
    role: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    partitions: int
    parked_claims: int


@dataclass(frozen=True)
class StoreStatus:
    backend: str
    location: str
    schema_version: int
    queue_depth: int
    oldest_waiting: float | None
    parked: int
    next_parked_due: float | None
    dead_letters: int
    ledger: int
    partitions: int
    rehearsal: bool
    workers: list[WorkerLease] = field(default_factory=list)


# --- the operations that settle deliveries ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkDelivered:
    """Record the delivery in the ledger, so it is not sent again."""

    key: DeliveryKey
    at: float


@dataclass(frozen=True, slots=True)
class Park:
    """Park a delivery for a later attempt; if it is parked already (same key), move it on: its
    attempts add up, its parkings count one more, and it is no longer claimed."""

    key: DeliveryKey
    event: dict[str, Any]
    attempts: int
    error_code: str
    error_message: str
    next_attempt_at: float
    give_up_at: float
    at: float


@dataclass(frozen=True, slots=True)
class Unpark:
    parked_id: int


@dataclass(frozen=True, slots=True)
class Bury:
    """Make a dead letter of a delivery (and drop its parked entry, if it had one)."""

    key: DeliveryKey
    event: dict[str, Any]
    mapping_hash: str
    error_code: str
    error_message: str
    attempts: int
    first_seen: float
    at: float
    parked_id: int | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    """The inbox event is settled: it leaves the inbox."""

    inbox_id: int


@dataclass(frozen=True, slots=True)
class ResolveDeadLetter:
    dead_letter_id: int


@dataclass(frozen=True, slots=True)
class TouchDeadLetter:
    """A dead letter tried again and still failing: count the attempts, keep the newest error."""

    dead_letter_id: int
    attempts: int
    error_code: str
    error_message: str
    at: float


Operation = MarkDelivered | Park | Unpark | Bury | Ack | ResolveDeadLetter | TouchDeadLetter


def merge_profile(
    current: StoredProfile | None, entered: list[str], exited: list[str], attributes: dict[str, Any] | None
) -> tuple[list[str], dict[str, Any]]:
    """A profile after an update: audiences left, audiences entered (in order, once each),
    attributes set (None removes one). Both backends store what this returns."""
    left = set(exited)
    segments = [s for s in current.segments if s not in left] if current else []
    segments += [s for s in entered if s not in segments]
    kept = dict(current.attributes) if current else {}
    for name, value in (attributes or {}).items():
        if value is None:
            kept.pop(name, None)
        else:
            kept[name] = value
    return segments, kept


#: The order operations are applied in. Ledger marks and inbox acknowledgements touch nothing
#: else, so they are gathered into one statement each; parkings, unparkings and burials may
#: concern the same delivery, so they keep the order they were given in.
_RANK: dict[type, int] = {MarkDelivered: 0, Park: 1, Unpark: 1, Bury: 1, Ack: 2, TouchDeadLetter: 3, ResolveDeadLetter: 3}


def runs_of_one_kind(operations: Sequence[Operation]) -> Iterator[tuple[type, list[Any]]]:
    """The operations as runs of one kind, as few as their order allows: each run is one statement."""
    kind: type | None = None
    run: list[Any] = []
    for operation in sorted(operations, key=lambda op: _RANK[type(op)]):  # stable: equal ranks keep their order
        if type(operation) is not kind and run:
            assert kind is not None
            yield kind, run
            run = []
        kind = type(operation)
        run.append(operation)
    if run:
        assert kind is not None
        yield kind, run
