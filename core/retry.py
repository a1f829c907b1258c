"""Fast retries within one delivery: exponential backoff with full jitter, ``Retry-After`` honoured.

The policy reads only what a :class:`DeliveryError` says of itself (``retryable``,
``retry_after``); it knows nothing of HTTP. Slow retries (minutes) are the state store's job.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_before_delay

from .errors import DeliveryError

__all__ = ["RetryPolicy", "call_with_retries", "Attempted"]

T = TypeVar("T")


class RetryPolicy(BaseModel):
    """How hard one delivery tries. Configurable per destination under ``retry:``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(4, ge=1, description="Attempts in all, the first included.")
    initial_delay: float = Field(0.5, ge=0, description="Seconds; the backoff cap doubles from here.")
    max_delay: float = Field(20.0, ge=0, description="Largest wait between two attempts, in seconds.")
    max_elapsed: float = Field(60.0, gt=0, description="No attempt starts after this many seconds.")
    retry_after_cap: float = Field(60.0, ge=0, description="Longest Retry-After honoured, in seconds.")

    def delay(self, attempt: int, error: BaseException | None, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), float(self.retry_after_cap))
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return rng() * ceiling  # full jitter: anywhere between 0 and the exponential ceiling


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

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.delay(state.attempt_number, error)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_elapsed),
        wait=wait,
        retry=retry_if_exception(_retryable),
        sleep=sleep,
        reraise=True,
    )
    attempts = 0
    try:
        async for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                result = await fn()
    except Exception as exc:
        raise Attempted(exc, attempts) from exc
    return result, attempts
