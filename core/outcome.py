"""What became of an event at one subscription: the last step of the flow, and what reports count."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import DeliveryError

__all__ = ["Status", "ErrorInfo", "Outcome"]


class Status(StrEnum):
    DELIVERED = "delivered"
    SKIPPED = "skipped"
    #: Sent before (the ledger has it), so not sent again; ``--force`` sends it anyway.
    ALREADY_DELIVERED = "already_delivered"
    FAILED = "failed"
    INVALID = "invalid"
    PARKED = "parked"
    DEAD_LETTERED = "dead_lettered"


#: Statuses that mean the event needs no one's attention.
OK_STATUSES = frozenset({Status.DELIVERED, Status.SKIPPED, Status.ALREADY_DELIVERED})


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error as reports carry it. ``message`` has already been through the redactor."""

    code: str
    message: str
    status: int | None = None
    retryable: bool = False
    #: Seconds the destination asked to wait; used for scheduling, not written to reports.
    retry_after: float | None = None

    @classmethod
    def from_error(cls, error: DeliveryError, redact: Any = None) -> ErrorInfo:
        message = redact(error.message) if redact else error.message
        return cls(error.code, message, error.status, error.retryable, error.retry_after)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "status": self.status, "retryable": self.retryable}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One event at one subscription. ``destination`` is None when no subscription was involved
    (an invalid event, or one that matched no trigger)."""

    status: Status
    message_id: str | None
    destination: str | None = None
    subscription: str | None = None
    action: str | None = None
    attempts: int = 0
    error: ErrorInfo | None = None
    #: Why it was skipped, in words (no trigger matched, disabled by ``integrations``...).
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "destination": self.destination,
            "subscription": self.subscription,
            "action": self.action,
            "status": self.status.value,
            "attempts": self.attempts,
            "error": self.error.to_dict() if self.error else None,
            **({"reason": self.reason} if self.reason else {}),
        }
