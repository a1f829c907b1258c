"""Helpers for testing destinations, with nothing else needed (no network, no pytest plugins).

::

    from destkit.testing import make_event, run_action, json_reply

    def test_send_posts_the_event():
        run = run_action(destination, "send", make_event("track", event="Signed Up"),
                         settings={"url": "https://hooks.example.com"})
        assert run.outcome.status == "delivered"
        assert run.requests[0].url == "https://hooks.example.com"

``run_action`` (one event) and ``run_batch`` (many, through the action's batching) go through
the real runtime (mapping, payload validation, batching, retries, error reading) with a
:class:`RecordingTransport` in place of the network, on virtual time. ``standard_tests``
checks a destination against the framework's own rules in one line. For integration tests,
:class:`LoopbackServer` is a real HTTP server on 127.0.0.1 (uvicorn, in a background thread)
serving a handler function or any ASGI application.
"""

from __future__ import annotations

from .actions import ActionRun, BatchRun, arun_action, arun_batch, run_action, run_batch
from .clock import VirtualClockLoop, VirtualClockPolicy
from .events import EVENT_TYPES, make_event
from .server import HandlerApp, LoopbackServer, RecordedRequest, Reply
from .standard import StandardSuite, sample_events, standard_tests
from .transport import RecordingTransport, ResponseHandler, json_reply

__all__ = [
    "make_event",
    "EVENT_TYPES",
    "run_action",
    "arun_action",
    "ActionRun",
    "run_batch",
    "arun_batch",
    "BatchRun",
    "RecordingTransport",
    "ResponseHandler",
    "json_reply",
    "standard_tests",
    "StandardSuite",
    "sample_events",
    "VirtualClockLoop",
    "VirtualClockPolicy",
    "LoopbackServer",
    "HandlerApp",
    "RecordedRequest",
    "Reply",
]
