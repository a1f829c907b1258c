"""Suspending a destination whose credentials are refused: a bad token must not turn every
waiting event into a dead letter.

After ``auth_failure_limit`` consecutive ``INVALID_AUTHENTICATION`` answers from one destination
(10 unless its config block says otherwise; ``null`` never suspends), the runtime stops sending
to it for as long as it runs: each delivery to it, waiting or new, ends ``failed`` with
``DESTINATION_SUSPENDED``, a retryable error, so that with the state store it is parked (a
suspension never uses up the parking window, nothing having been tried) rather than buried.
Any answer that is not a refusal starts the count again. A runtime built anew (the next start,
with the credentials fixed) sends again, and ``destkit parked run`` delivers what was parked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from .errors import DeliveryError, DestinationSuspended
from .logs import fields
from .outcome import ErrorInfo

__all__ = ["AuthBreakers", "SUSPENDED", "REFUSED", "DEFAULT_AUTH_FAILURE_LIMIT"]

SUSPENDED = DestinationSuspended.code
T = TypeVar("T")
REFUSED = "INVALID_AUTHENTICATION"
DEFAULT_AUTH_FAILURE_LIMIT = 10

logger = logging.getLogger("destkit.delivery")


class AuthBreakers:
    """The consecutive refusals of each destination, and the destinations suspended."""

    def __init__(self, limits: Mapping[str, int | None]) -> None:
        self.limits = dict(limits)
        self._refusals: dict[str, int] = {}
        self._suspended: dict[str, ErrorInfo] = {}

    def suspension(self, destination: str) -> ErrorInfo | None:
        """Why nothing is sent to ``destination`` any more; None while it is not suspended."""
        return self._suspended.get(destination)

    def guard(self, destination: str, attempt: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """``attempt``, unless ``destination`` is suspended by the time it is made (each retry too)."""

        async def guarded() -> T:
            suspension = self._suspended.get(destination)
            if suspension is not None:
                raise DestinationSuspended(suspension.message)
            return await attempt()

        return guarded

    def answered(self, destination: str, error: DeliveryError | None) -> ErrorInfo | None:
        """Count one delivery's end (``error`` None: delivered); the suspension when there is one now."""
        if error is not None and error.code == REFUSED:
            refusals = self._refusals[destination] = self._refusals.get(destination, 0) + 1
            limit = self.limits.get(destination)
            if limit is not None and refusals >= limit and destination not in self._suspended:
                self._suspend(destination, refusals)
        elif (error is None or error.status is not None) and self._refusals.get(destination):
            self._refusals[destination] = 0  # an answer that is not a refusal: the credentials work
        return self._suspended.get(destination)

    def _suspend(self, destination: str, refusals: int) -> None:
        message = (
            f"not sent: destination {destination!r} is suspended after {refusals} consecutive {REFUSED} answers "
            "(its credentials are refused); fix them and start again, then `destkit parked run` sends what was parked"
        )
        self._suspended[destination] = ErrorInfo(SUSPENDED, message, retryable=True)
        logger.error(
            "destination suspended: its credentials were refused %d times in a row; nothing more is sent to it, "
            "what waits and what arrives is parked until destkit starts again with working credentials",
            refusals,
            extra=fields(destination=destination, code=SUSPENDED, refusals=refusals),
        )
