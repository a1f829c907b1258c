"""The state store: what must survive a crash, shared by every process that delivers.

- the ledger: each (messageId, destination, subscription) delivered, so nothing is sent twice;
- parked deliveries: events waiting for a later attempt, with attempts, last error and when;
- dead letters: events given up on, with the raw event and a reason a person can act on;
- the inbox (``destkit serve``): events accepted and answered 200, until they are settled;
- profiles (profile-request destinations) and credentials destinations refreshed.

One async contract (:class:`StateStore`), two backends: SQLite (:mod:`.sqlite`), the embedded
default for one machine, and PostgreSQL (:mod:`.postgresql`), shared by processes on many.
:func:`open_store` picks one from a location (a path or a ``postgresql://`` URL). Outcomes are
settled in groups (:class:`CommitGroup`); inbox partitions and leases (:class:`Leases`) let
several processes deliver one inbox with each person's events in order.
"""

from .commits import CommitGroup
from .contract import PARTITIONS, StateError, StateStore
from .locations import DEFAULT_STATE_PATH, STATE_ENV, default_location, describe_location, open_store
from .partitions import DEFAULT_LEASE, Leases, partition_of
from .records import (
    Ack,
    Bury,
    DeadLetter,
    DeliveryKey,
    InboxEvent,
    MarkDelivered,
    Operation,
    Park,
    ParkedDelivery,
    ResolveDeadLetter,
    StoredProfile,
    StoreStatus,
    TouchDeadLetter,
    Unpark,
    WorkerLease,
)

__all__ = [
    "StateStore",
    "StateError",
    "open_store",
    "default_location",
    "describe_location",
    "DEFAULT_STATE_PATH",
    "STATE_ENV",
    "PARTITIONS",
    "CommitGroup",
    "Leases",
    "DEFAULT_LEASE",
    "partition_of",
    "DeliveryKey",
    "ParkedDelivery",
    "DeadLetter",
    "InboxEvent",
    "StoredProfile",
    "StoreStatus",
    "WorkerLease",
    "Operation",
    "MarkDelivered",
    "Park",
    "Unpark",
    "Bury",
    "Ack",
    "ResolveDeadLetter",
    "TouchDeadLetter",
]
