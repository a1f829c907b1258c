"""The state store's contract: what every backend keeps, and the guarantees callers rely on.

Two backends implement it with the same behaviour (the contract tests run against both):
:class:`~destkit.state.sqlite.SQLiteStore`, an embedded file for one machine, and
:class:`~destkit.state.postgresql.PostgreSQLStore`, shared by processes on any number of machines.

Guarantees:

- Every method is a coroutine and none blocks the event loop (SQLite runs on a thread of its
  own; PostgreSQL speaks asyncio).
- :meth:`StateStore.accept` returns only once the events are committed: an event answered 200
  survives any crash.
- :meth:`StateStore.apply` applies its operations in one transaction: all or none.
- Inbox events are delivered by the process holding the lease on their *partition* (a stable
  hash of the person), so one person's events go out one at a time, in inbox order, whichever
  process accepted them. A process renews its leases with :meth:`StateStore.heartbeat`; when
  it stops renewing, its leases expire and another process takes its partitions over, along
  with every event it had claimed and not settled.
- A parked delivery is claimed by one process at a time, under the same lease.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar

from ..errors import DestkitError
from .records import DeadLetter, DeliveryKey, InboxEvent, Operation, ParkedDelivery, StoredProfile, StoreStatus

__all__ = ["StateStore", "StateError", "PARTITIONS", "purpose_clash"]

#: Inbox partitions: the most delivery processes that can share one store's inbox.
PARTITIONS = 256


class StateError(DestkitError):
    """The state store cannot be opened, reached or used (a message says which and why)."""


class StateStore(ABC):
    """One state store. Open it with ``async with`` (or :meth:`open` / :meth:`close`)."""

    backend: ClassVar[str]
    #: Where the store is, fit to print (a PostgreSQL password is masked).
    location: str

    async def __aenter__(self) -> StateStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Connect, and bring the schema up to date unless opened read-only."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def claim_purpose(self, rehearsal: bool) -> None:
        """Mark the store as holding rehearsals (sandboxed runs) or real deliveries, the first
        time a delivering command uses it; a StateError if it already holds the other kind."""

    # --- the ledger -----------------------------------------------------------------------------

    @abstractmethod
    async def delivered(self, keys: Collection[DeliveryKey]) -> set[DeliveryKey]:
        """Which of ``keys`` the ledger holds."""

    @abstractmethod
    async def prune_ledger(self, before: float) -> int:
        """Forget deliveries recorded before ``before`` (a Unix time); returns how many."""

    # --- settling ---------------------------------------------------------------------------------

    @abstractmethod
    async def apply(self, operations: Sequence[Operation]) -> None:
        """Apply every operation in one transaction."""

    # --- parked deliveries ----------------------------------------------------------------------

    @abstractmethod
    async def claim_due(self, owner: str, limit: int, lease: float) -> list[ParkedDelivery]:
        """Claim up to ``limit`` parked deliveries that are due and not claimed by a live process.
        A claim lasts ``lease`` seconds unless renewed by :meth:`heartbeat`; settling the
        delivery (:class:`Unpark`, :class:`Park`, :class:`Bury`) ends it."""

    @abstractmethod
    async def next_due_at(self) -> float | None: ...

    @abstractmethod
    async def parked(self, destination: str | None = None) -> list[ParkedDelivery]:
        """Every parked delivery, the next due first."""

    @abstractmethod
    async def parked_count(self) -> int: ...

    # --- dead letters ---------------------------------------------------------------------------

    @abstractmethod
    async def dead_letters(self, code: str | None = None, ids: Collection[int] | None = None) -> list[DeadLetter]: ...

    @abstractmethod
    async def purge_dead_letters(self, before: float | None = None) -> int: ...

    # --- the inbox ------------------------------------------------------------------------------

    @abstractmethod
    async def accept(self, events: Sequence[tuple[str, str]], received_at: float) -> None:
        """Store events, each ``(person key, JSON text)``, durably, in one transaction."""

    @abstractmethod
    async def claim_inbox(self, owner: str, partitions: Collection[int], limit: int) -> list[InboxEvent]:
        """The oldest events of ``partitions`` that ``owner`` has not claimed yet, up to
        ``limit``, in inbox order, now claimed by ``owner``. Only the holder of a partition's
        lease should call this for it; claims by an owner that is gone mean nothing. A claim
        lasts until the event is acknowledged, its partition is released, or its owner retires
        (claims are kept by the process, :mod:`~destkit.state.claims`)."""

    @abstractmethod
    async def inbox_depth(self) -> int:
        """Events accepted and not yet settled."""

    async def watch_inbox(self, wake: Callable[[], None]) -> bool:
        """Call ``wake`` (from the event loop) whenever another process accepts events; False
        when the backend cannot tell (callers then look every so often)."""
        return False

    def lock_service(self) -> None:  # noqa: B027 - most backends have nothing to lock
        """Hold the store for one ``destkit serve`` where the backend allows only one; a
        StateError naming the holder when another has it."""

    # --- processes and their leases -------------------------------------------------------------

    @abstractmethod
    async def heartbeat(self, owner: str, role: str, lease: float) -> list[int]:
        """Register or renew a process: its partition and parked leases last ``lease`` seconds
        more. Returns the partitions it holds (those it lost, if any, are not among them)."""

    @abstractmethod
    async def acquire_partitions(self, owner: str, count: int, lease: float) -> list[int]:
        """Take up to ``count`` partitions nobody holds (or whose lease expired)."""

    @abstractmethod
    async def release_partitions(self, owner: str, partitions: Collection[int]) -> None: ...

    @abstractmethod
    async def live_workers(self, lease: float) -> int:
        """Processes delivering the inbox whose last heartbeat is under ``lease`` seconds old."""

    @abstractmethod
    async def retire(self, owner: str) -> None:
        """A process leaving cleanly: its partitions and claims are free at once."""

    # --- profiles -------------------------------------------------------------------------------

    @abstractmethod
    async def profile(self, destination: str, namespace: str, identity: str) -> StoredProfile | None: ...

    @abstractmethod
    async def update_profiles(
        self,
        destination: str,
        identities: Mapping[str, str],
        entered: list[str],
        exited: list[str],
        attributes: dict[str, Any] | None,
        now: float,
    ) -> None:
        """Apply one change to the profile of each identity, in one transaction (see
        :func:`~destkit.state.records.merge_profile`)."""

    @abstractmethod
    async def profile_count(self, destination: str) -> int: ...

    # --- credentials a destination refreshed ----------------------------------------------------

    @abstractmethod
    async def load_token(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def save_token(self, key: str, value: dict[str, Any]) -> None: ...

    # --- looking after it -----------------------------------------------------------------------

    @abstractmethod
    async def status(self, lease: float) -> StoreStatus: ...


def purpose_clash(location: str, held: str) -> str:
    """Why a store holding one kind of deliveries refuses a run of the other kind."""
    if held == "rehearsal":
        return (
            f"{location} holds rehearsals (sandboxed runs), whose deliveries must never reach a real API: "
            "run with --sandbox, or choose another --state for real deliveries"
        )
    return (
        f"{location} holds real deliveries, which a sandboxed run must not touch: choose another --state "
        "for the rehearsal (or none: sandboxed runs keep no state unless --state is given)"
    )
