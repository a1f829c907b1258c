"""One log line for each delivery that needs a person's eye: failed, parked, dead-lettered or invalid.

A line names the destination, the subscription, the event's messageId and the error code (and
the HTTP status, the attempts); never a payload. Only what destkit decided before any call (an
invalid event or payload: no answer of a destination's, which may echo what was sent) also
carries its reason. Lines of one kind (status, destination, subscription, code) that repeat are
counted rather than each written (:class:`~destkit.logs.RepeatFilter`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .logs import fields
from .outcome import Outcome, Status

__all__ = ["log_outcomes"]

logger = logging.getLogger("destkit.delivery")

_LEVELS = {
    Status.FAILED: logging.ERROR,
    Status.DEAD_LETTERED: logging.ERROR,
    Status.PARKED: logging.WARNING,
    Status.INVALID: logging.WARNING,
}


def log_outcomes(outcomes: Iterable[Outcome]) -> None:
    for outcome in outcomes:
        level = _LEVELS.get(outcome.status)
        if level is None or not logger.isEnabledFor(level):
            continue
        error = outcome.error
        code = error.code if error is not None else None
        decided_here = outcome.attempts == 0 and error is not None
        what = "event invalid" if outcome.destination is None else f"delivery {outcome.status.value}"
        extra = fields(
            destination=outcome.destination,
            subscription=outcome.subscription,
            message_id=outcome.message_id,
            code=code,
            http_status=error.status if error is not None else None,
            attempts=outcome.attempts or None,
            reason=error.message if decided_here and error is not None else None,
        )
        extra["repeat_key"] = (outcome.status, outcome.destination, outcome.subscription, code)
        logger.log(level, what, extra=extra)
