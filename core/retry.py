"""Fast retries within one delivery: exponential backoff with full jitter, ``Retry-After`` honoured.

A ``Retry-After`` up to ``retry_after_cap`` is waited for exactly; a longer one ends the fast
retries at once (retrying sooner than asked would be refused again).

The policy reads only what a :class:`DeliveryError` says of itself (``retryable``,
``retry_after``); it knows nothing of HTTP. Slow retries (minutes) are the state store's job.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from .errors import DeliveryError

__all__ = ["RetryPolicy", "ParkingPolicy", "call_with_retries", "Attempted"]

T = TypeVar("T")


class RetryPolicy(BaseModel):
    """How hard one delivery tries. Configurable per destination under ``retry:``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(4, ge=1, description="Attempts in all, the first included.")
    initial_delay: float = Field(0.5, ge=0, description="Seconds; the backoff cap doubles from here.")
    max_delay: float = Field(20.0, ge=0, description="Largest wait between two attempts, in seconds.")
    max_elapsed: float = Field(60.0, gt=0, description="No attempt starts after this many seconds.")
    retry_after_cap: float = Field(
        60.0, ge=0, description="Longest Retry-After waited for here, in seconds; a longer one ends the fast retries."
    )

    def asks_too_long_a_wait(self, error: BaseException | None) -> bool:
        """True when the destination asks to wait longer than this policy waits in-process.

        Retrying earlier than asked would only be refused again; the error keeps its
        ``retry_after`` for whoever schedules the slow retry.
        """
        retry_after = getattr(error, "retry_after", None)
        return retry_after is not None and float(retry_after) > self.retry_after_cap

    def delay(self, attempt: int, error: BaseException | None, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return rng() * ceiling  # full jitter: anywhere between 0 and the exponential ceiling


class ParkingPolicy(BaseModel):
    """Slow retries, when the state store keeps the event: configurable per destination under ``parking:``.

    A delivery still failing with a retryable error after its fast retries is parked and
    tried again after ``schedule[0]`` seconds, then ``schedule[1]``..., the last step
    repeating, until ``window`` seconds have passed since it was first parked; then it is a
    dead letter. The default (1, 5, 15, 30, 60 minutes within an hour) covers the hour a new
    Adobe Target profile can take to become visible.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: tuple[float, ...] = Field((60.0, 300.0, 900.0, 1800.0, 3600.0), min_length=1, description="Seconds between tries.")
    window: float = Field(3600.0, gt=0, description="Seconds after the first parking before giving up.")

    def delay(self, parkings: int) -> float:
        """Seconds before the next try, after ``parkings`` earlier parkings of the same delivery."""
        return float(self.schedule[min(parkings, len(self.schedule) - 1)])


class Attempted(Exception):
    """Carries the number of attempts made alongside the final error (internal)."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryError) and exc.retryable


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> tuple[T, int]:
    """Run ``fn`` until it succeeds or the policy gives up; return its result and the attempts.

    On failure raises :class:`Attempted` wrapping the last error, so the caller can count them.
    """
    # The first attempt runs outside tenacity: most deliveries succeed at once, and the retry
    # machinery costs more than the rest of the runtime's per-event work. A failure becomes
    # tenacity's attempt 1, so every rule below still applies to it.
    try:
        return await fn(), 1
    except Exception as exc:
        first_failure: Exception = exc

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.delay(state.attempt_number, error)

    waited = 0.0

    async def counted_sleep(seconds: float) -> None:
        nonlocal waited
        waited += seconds
        await sleep(seconds)

    def out_of_time(state: RetryCallState) -> bool:
        # Elapsed time includes the waits taken: the same as wall time with a real sleep, and
        # still right when a test hands in a sleep that returns at once.
        elapsed = max(state.seconds_since_start or 0.0, waited)
        return elapsed + (state.upcoming_sleep or 0.0) > policy.max_elapsed

    def too_long(state: RetryCallState) -> bool:
        return policy.asks_too_long_a_wait(state.outcome.exception() if state.outcome else None)

    def should_stop(state: RetryCallState) -> bool:
        return state.attempt_number >= policy.max_attempts or too_long(state) or out_of_time(state)

    retrying = AsyncRetrying(
        stop=should_stop,
        wait=wait,
        retry=retry_if_exception(_retryable),
        sleep=counted_sleep,
        reraise=True,
    )
    attempts = 0
    try:
        async for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                if attempts == 1:
                    raise first_failure
                result = await fn()
    except Exception as exc:
        raise Attempted(exc, attempts) from exc
    return result, attempts
