"""Helpers for testing destinations, with nothing else needed (no network, no pytest plugins).

::

    from destkit.testing import make_event, run_action, json_reply

    def test_send_posts_the_event():
        run = run_action(destination, "send", make_event("track", event="Signed Up"),
                         settings={"url": "https://hooks.example.com"})
        assert run.outcome.status == "delivered"
        assert run.requests[0].url == "https://hooks.example.com"

``run_action`` goes through the real runtime (mapping, payload validation, retries, error
reading) with an ``httpx.MockTransport`` in place of the network. For integration tests,
:class:`LoopbackServer` is a real HTTP server on 127.0.0.1 (uvicorn, in a background thread) serving a
handler function or any ASGI application.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ..outcome import Outcome
from ..plugin import Destination
from ..registry import Registry
from ..runtime import Runtime
from ..state import StateStore
from .server import HandlerApp, LoopbackServer, RecordedRequest, Reply

__all__ = [
    "make_event",
    "run_action",
    "arun_action",
    "ActionRun",
    "RecordingTransport",
    "json_reply",
    "LoopbackServer",
    "HandlerApp",
    "RecordedRequest",
    "Reply",
]

ResponseHandler = Callable[[httpx.Request], httpx.Response]


def make_event(type: str = "track", **fields: Any) -> dict[str, Any]:
    """A valid Segment event of ``type``; ``fields`` add to or replace the defaults."""
    event: dict[str, Any] = {
        "type": type,
        "messageId": f"test-{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(),
        "context": {},
    }
    if "userId" not in fields and "anonymousId" not in fields:
        event["anonymousId"] = "anonymous-test-user"
    defaults: dict[str, dict[str, Any]] = {
        "track": {"event": "Test Event", "properties": {}},
        "identify": {"traits": {}},
        "group": {"groupId": "group-1", "traits": {}},
        "alias": {"previousId": "previous-1"},
        "page": {"properties": {}},
        "screen": {"properties": {}},
    }
    event.update(defaults.get(type, {}))
    event.update(fields)
    return event


def json_reply(status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """An ``httpx.Response`` with a JSON body, for mock handlers."""
    return httpx.Response(status, json={} if body is None else body, headers=dict(headers or {}))


class RecordingTransport(httpx.MockTransport):
    """A mock transport that keeps every request it answered, in order."""

    def __init__(self, handler: ResponseHandler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        answer = handler or (lambda request: json_reply())

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return answer(request)

        super().__init__(record)


@dataclass
class ActionRun:
    """What one action did with one event: its outcome, the requests and the waits between tries."""

    outcome: Outcome
    requests: list[httpx.Request]
    sleeps: list[float] = field(default_factory=list)

    def json_bodies(self) -> list[Any]:
        return [json.loads(request.content) if request.content else None for request in self.requests]


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
) -> ActionRun:
    """Run one action of ``destination`` on ``event`` through the runtime, offline.

    The action's default mapping applies unless ``mapping`` overrides fields; its trigger is
    bypassed. ``respond`` answers each request (200 ``{}`` by default). Waits between retries
    are recorded in ``sleeps``, not slept. ``state`` is the state store (or its location,
    opened for the run) the action's ``ctx.profiles`` keeps profiles in (profile-request
    destinations).
    """
    transport = RecordingTransport(respond)
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    subscription: dict[str, Any] = {"name": "test", "action": action, "trigger": f'type = "{event.get("type")}"'}
    if mapping:
        subscription["mapping"] = dict(mapping)
    entry: dict[str, Any] = {
        "name": destination.slug,
        "type": destination.slug,
        "settings": dict(settings or {}),
        "subscriptions": [subscription],
    }
    if retry is not None:
        entry["retry"] = dict(retry)
    runtime = Runtime(
        {"destinations": [entry]}, registry=Registry.of(destination), transport=transport, sleep=no_sleep, state=state
    )
    async with runtime:
        outcomes = await runtime.deliver(event)
    return ActionRun(outcomes[0], transport.requests, sleeps)


def run_action(destination: Destination[Any], action: str, event: dict[str, Any], **options: Any) -> ActionRun:
    """:func:`arun_action` for synchronous tests (not from inside a running event loop)."""
    return asyncio.run(arun_action(destination, action, event, **options))
