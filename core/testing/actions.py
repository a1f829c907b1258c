"""Running one action of a destination through the real runtime, offline.

``run_action`` sends one event; ``run_batch`` sends many through the action's batching. Both
go through everything the runtime does (mapping, payload validation, batching, retries,
error reading), with a :class:`RecordingTransport` in place of the network, waits between
retries recorded instead of slept, and on a :class:`VirtualClockLoop`, so a batch's
``max_wait`` takes no real time either.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..auth import TokenStore
from ..outcome import Outcome
from ..plugin import Destination
from ..registry import Registry
from ..runtime import Runtime
from ..state import StateStore
from .clock import VirtualClockLoop
from .transport import RecordingTransport, ResponseHandler

__all__ = ["ActionRun", "BatchRun", "arun_action", "run_action", "arun_batch", "run_batch", "single_subscription"]


@dataclass
class _Recorded:
    requests: list[httpx.Request]
    #: Seconds waited between attempts, in order (recorded, not slept).
    sleeps: list[float]

    def json_bodies(self) -> list[Any]:
        """Every request's body parsed as JSON (None for a request without one), in order."""
        return [json.loads(request.content) if request.content else None for request in self.requests]


@dataclass
class ActionRun(_Recorded):
    """What one action did with one event: its outcome, the requests and the waits between tries."""

    outcome: Outcome = field(kw_only=True)


@dataclass
class BatchRun(_Recorded):
    """What one action did with many events: one outcome per event, in the events' order."""

    outcomes: list[Outcome] = field(kw_only=True)
    #: Seconds from the first event to the last outcome, on the loop's clock (virtual time
    #: under ``run_batch``: a batch that waited ``max_wait`` shows it here).
    elapsed: float = field(kw_only=True)


def single_subscription(
    destination: Destination[Any],
    action: str,
    events: Sequence[dict[str, Any]],
    *,
    settings: Mapping[str, Any] | None = None,
    mapping: Mapping[str, Any] | None = None,
    batch: Mapping[str, Any] | None = None,
    retry: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A config with one destination and one subscription of ``action``, whose trigger takes
    every event of the types in ``events`` (so the action's own trigger is bypassed)."""
    types = sorted({str(event.get("type")) for event in events})
    subscription: dict[str, Any] = {"name": "test", "action": action, "trigger": " or ".join(f'type = "{t}"' for t in types)}
    if mapping:
        subscription["mapping"] = dict(mapping)
    if batch is not None:
        subscription["batch"] = dict(batch)
    entry: dict[str, Any] = {
        "name": destination.slug,
        "type": destination.slug,
        "settings": dict(settings or {}),
        "subscriptions": [subscription],
    }
    if retry is not None:
        entry["retry"] = dict(retry)
    return {"destinations": [entry]}


async def _deliver(
    destination: Destination[Any],
    action: str,
    events: Sequence[dict[str, Any]],
    *,
    settings: Mapping[str, Any] | None,
    mapping: Mapping[str, Any] | None,
    respond: ResponseHandler | None,
    retry: Mapping[str, Any] | None,
    state: StateStore | str | os.PathLike[str] | None,
    tokens: TokenStore | None,
    batch: Mapping[str, Any] | None,
) -> tuple[list[Outcome], RecordingTransport, list[float], float]:
    """Deliver ``events`` to one subscription of ``action`` (its trigger bypassed)."""
    transport = RecordingTransport(respond)
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    runtime = Runtime(
        single_subscription(destination, action, events, settings=settings, mapping=mapping, batch=batch, retry=retry),
        registry=Registry.of(destination),
        transport=transport,
        sleep=no_sleep,
        state=state,
        tokens=tokens,
    )
    clock = asyncio.get_running_loop()
    async with runtime:
        started = clock.time()
        delivered = await runtime.deliver_many(events)
        elapsed = clock.time() - started
    return [outcomes[0] for outcomes in delivered], transport, sleeps, elapsed


async def arun_action(
    destination: Destination[Any],
    action: str,
    event: dict[str, Any],
    *,
    settings: Mapping[str, Any] | None = None,
    mapping: Mapping[str, Any] | None = None,
    respond: ResponseHandler | None = None,
    retry: Mapping[str, Any] | None = None,
    state: StateStore | str | os.PathLike[str] | None = None,
    tokens: TokenStore | None = None,
) -> ActionRun:
    """Run one action of ``destination`` on ``event`` through the runtime, offline.

    Args:
        destination: the plugin's :class:`Destination`.
        action: the action's slug.
        event: a Segment event (``make_event`` makes one); the action's trigger is bypassed.
        settings: the destination's settings, as a config would give them.
        mapping: fields to map otherwise than the action's default mapping.
        respond: answers each request, ``def`` or ``async def`` (200 ``{}`` by default).
        retry: the destination's retry policy (``{"max_attempts": 1}``...).
        state: the state store (or its location, opened for the run) the action's
            ``ctx.profiles`` keeps profiles in.
        tokens: where OAuth2 tokens are kept between runs (in memory, for this run, by default).

    Returns:
        The outcome, the requests made and the waits between attempts (recorded, not slept).
        An always-batched action sends its one payload as a batch of one, at once.
    """
    batch = {"size": 1} if destination.action(action).always_batched else None
    outcomes, transport, sleeps, _ = await _deliver(
        destination,
        action,
        [event],
        settings=settings,
        mapping=mapping,
        respond=respond,
        retry=retry,
        state=state,
        tokens=tokens,
        batch=batch,
    )
    return ActionRun(transport.requests, sleeps, outcome=outcomes[0])


async def arun_batch(
    destination: Destination[Any],
    action: str,
    events: Sequence[dict[str, Any]],
    *,
    batch: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    mapping: Mapping[str, Any] | None = None,
    respond: ResponseHandler | None = None,
    retry: Mapping[str, Any] | None = None,
    state: StateStore | str | os.PathLike[str] | None = None,
    tokens: TokenStore | None = None,
) -> BatchRun:
    """Run ``events`` through one action's batching (``perform_batch``), offline.

    Args:
        destination: the plugin's :class:`Destination`.
        action: the slug of an action with ``perform_batch``.
        events: Segment events, all submitted at once; events of one person still go out
            one after the other, as the runtime keeps each person's order.
        batch: the subscription's ``batch:`` options (``size``, ``max_wait``); the action's
            own batch size and a 1-second wait by default.
        settings, mapping, respond, retry, state, tokens: as :func:`arun_action` takes them.

    Returns:
        One outcome per event in the events' order, the requests made, the waits between
        attempts, and the time taken on the loop's clock. On a real event loop a partly
        filled batch waits ``max_wait`` for real; :func:`run_batch` runs on virtual time.
    """
    outcomes, transport, sleeps, elapsed = await _deliver(
        destination,
        action,
        events,
        settings=settings,
        mapping=mapping,
        respond=respond,
        retry=retry,
        state=state,
        tokens=tokens,
        batch=batch or {},
    )
    return BatchRun(transport.requests, sleeps, outcomes=outcomes, elapsed=elapsed)


def run_action(destination: Destination[Any], action: str, event: dict[str, Any], **options: Any) -> ActionRun:
    """:func:`arun_action` for synchronous tests, on virtual time (not from inside a running loop)."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(arun_action(destination, action, event, **options))


def run_batch(destination: Destination[Any], action: str, events: Sequence[dict[str, Any]], **options: Any) -> BatchRun:
    """:func:`arun_batch` for synchronous tests, on virtual time: waits for a partly filled
    batch take no real time, and ``elapsed`` shows them."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(arun_batch(destination, action, events, **options))
