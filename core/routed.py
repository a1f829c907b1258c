"""An event between the runtime's two halves: routed (validated, triggered, mapped; no I/O) and
not yet sent, and what holds its sending back once a stop is asked.

:meth:`~destkit.runtime.Runtime.route` makes a :class:`Routed`;
:meth:`~destkit.runtime.Runtime.send` sends what it holds. With a stop to watch, each delivery
calls the event's ``begin`` on taking its place on the network: once the stop is set, an event
none of whose deliveries has begun is held back (:class:`HeldBack`), so nothing of it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .config import CompiledSubscription
from .outcome import Outcome

__all__ = ["Routed", "HeldBack", "began", "beginning"]


@dataclass(slots=True)
class Routed:
    """An event after :meth:`Runtime.route`: one outcome slot per matching subscription (None
    until sent), and the jobs (slot, subscription, payload) still to send."""

    event: Any
    message_id: str | None
    outcomes: list[Outcome | None]
    jobs: list[tuple[int, CompiledSubscription, BaseModel]] = field(default_factory=list)
    #: Whether a delivery of the event has taken its place on the network (see :class:`HeldBack`).
    begun: bool = False

    def finished(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome is not None]


def began() -> None:
    """What a delivery does on taking its place when nothing can hold it back."""


def beginning(routed: Routed, stopping: asyncio.Event) -> Callable[[], None]:
    """What a delivery of ``routed`` does on taking its place: once ``stopping`` is set, it is
    held back unless another delivery of the same event has begun."""

    def begin() -> None:
        if not routed.begun and stopping.is_set():
            raise HeldBack
        routed.begun = True

    return begin


class HeldBack(Exception):
    """Raised by :meth:`Runtime.send` for an event held back by a stop: its turn came once the
    stop was asked, before any of its deliveries had begun, so nothing of it was sent."""
