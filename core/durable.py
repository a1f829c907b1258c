"""The retry ladder's slow rungs: what becomes of an outcome once the state store keeps events.

After its fast retries (the runtime's), each delivery is settled:

- delivered: recorded in the ledger (a later replay does not send it again);
- failed with a retryable error (a profile not visible yet, a destination down or limiting):
  parked, to be tried again on the destination's parking schedule; a wait the server asked
  for (``Retry-After`` on a 429 or 503) is honoured when longer than the schedule's step;
- failed past the parking window, or with an error no retry can fix: a dead letter, with the
  raw event and a reason a person can act on;
- not sent because its destination is suspended (its credentials refused again and again,
  :mod:`destkit.breaker`): parked, whatever its window, until working credentials send it.

Invalid events and payloads stay ``invalid``: nothing was sent, and replaying the file after
fixing the mapping sends exactly them (the ledger skips the rest).

Deciding needs no I/O: :meth:`Durable.settle` returns the final outcomes and the operations
that record them, which the caller hands to a :class:`~destkit.state.CommitGroup`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .breaker import REFUSED, SUSPENDED
from .config import CompiledSubscription
from .outcome import ErrorInfo, Outcome, Status
from .runtime import Routed, Runtime
from .state import Bury, MarkDelivered, Operation, Park, ParkedDelivery, StateStore, Unpark

__all__ = ["Durable", "ALREADY_DELIVERED"]

ALREADY_DELIVERED = "already delivered (in the ledger; --force sends it again)"
_SERVER_ASKED = (429, 503)


class Durable:
    def __init__(
        self, runtime: Runtime, store: StateStore, *, force: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.force = force
        self.clock = clock
        self._subscriptions = {(sub.destination.name, sub.name): sub for sub in runtime.subscriptions}

    async def skip_delivered(self, routed: Sequence[Routed]) -> None:
        """Turn jobs the ledger has seen delivered into ``already_delivered`` outcomes (unless forced),
        for many events with one look at the ledger."""
        if self.force:
            return
        keys = {
            (item.message_id, sub.destination.name, sub.name)
            for item in routed
            if item.message_id is not None
            for _, sub, _ in item.jobs
        }
        if not keys:
            return
        done = await self.store.delivered(keys)
        if not done:
            return
        for item in routed:
            remaining = []
            for index, sub, payload in item.jobs:
                if (item.message_id, sub.destination.name, sub.name) in done:
                    item.outcomes[index] = Outcome(
                        Status.ALREADY_DELIVERED,
                        item.message_id,
                        sub.destination.name,
                        sub.name,
                        sub.action.slug,
                        reason=ALREADY_DELIVERED,
                    )
                else:
                    remaining.append((index, sub, payload))
            item.jobs = remaining

    def settle(
        self, event: dict[str, Any], outcomes: list[Outcome], parked: ParkedDelivery | None = None
    ) -> tuple[list[Outcome], list[Operation]]:
        """Each outcome's final status, and the operations that record them."""
        operations: list[Operation] = []
        final = [self._settle_one(event, outcome, parked, operations) for outcome in outcomes]
        return final, operations

    def _settle_one(
        self, event: dict[str, Any], outcome: Outcome, parked: ParkedDelivery | None, operations: list[Operation]
    ) -> Outcome:
        if outcome.destination is None or outcome.subscription is None or outcome.message_id is None:
            if parked is not None:
                operations.append(Unpark(parked.id))  # the current config sends it nowhere
            return outcome
        key = (outcome.message_id, outcome.destination, outcome.subscription)
        if outcome.status == Status.DELIVERED:
            operations.append(MarkDelivered(key, self.clock()))
            if parked is not None:
                operations.append(Unpark(parked.id))
            return outcome
        if outcome.status == Status.SKIPPED and parked is not None:
            operations.append(Unpark(parked.id))  # the current config no longer sends it
            return outcome
        # A parked event the current mapping can no longer make a payload of is a dead letter too.
        now_invalid = outcome.status == Status.INVALID and parked is not None
        if outcome.error is None or (outcome.status != Status.FAILED and not now_invalid):
            return outcome
        error = outcome.error
        sub = self._subscriptions.get((outcome.destination, outcome.subscription))
        attempts = outcome.attempts + (parked.attempts if parked else 0)
        now = self.clock()
        if parked is not None and parked.error_code == SUSPENDED and error.code == REFUSED:
            error = replace(error, code=SUSPENDED, retryable=True)  # still refused: it waits for working credentials
        if sub is not None and error.retryable:
            policy = sub.destination.parking
            give_up_at = parked.give_up_at if parked else now + policy.window
            suspended = error.code == SUSPENDED  # nothing was tried: no step of the schedule, no giving up
            delay = policy.delay(0 if suspended or parked is None else parked.parkings)
            if error.retry_after is not None and error.status in _SERVER_ASKED:
                delay = max(delay, error.retry_after)
            if now + delay <= give_up_at or suspended:
                operations.append(Park(key, event, outcome.attempts, error.code, error.message, now + delay, give_up_at, now))
                return replace(outcome, status=Status.PARKED)
            waited = now - (parked.first_seen if parked else now)
            reason = f"gave up after {attempts} attempts over {_duration(waited)} (the parking window): {error.message}"
            error = replace(error, message=reason)
        operations.append(
            Bury(
                key,
                event,
                sub.mapping_hash if sub is not None else "",
                error.code,
                error.message,
                attempts,
                parked.first_seen if parked else now,
                now,
                parked.id if parked else None,
            )
        )
        return replace(outcome, status=Status.DEAD_LETTERED, error=error, attempts=attempts)

    def subscription(self, destination: str, subscription: str) -> CompiledSubscription | None:
        return self._subscriptions.get((destination, subscription))

    def gone(self, parked: ParkedDelivery) -> tuple[Outcome, Operation]:
        """A parked delivery whose subscription is no longer in the config: a dead letter."""
        message = f"subscription {parked.destination}/{parked.subscription} is no longer in the config"
        error = ErrorInfo("SUBSCRIPTION_REMOVED", message)
        now = self.clock()
        bury = Bury(parked.key, parked.event, "", error.code, message, parked.attempts, parked.first_seen, now, parked.id)
        outcome = Outcome(
            Status.DEAD_LETTERED, parked.message_id, parked.destination, parked.subscription, None, parked.attempts, error
        )
        return outcome, bury


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
