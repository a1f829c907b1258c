"""The runtime for code without an event loop."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from destkit import Status
from destkit.sync_runtime import SyncRuntime
from destkit.testing import RecordingTransport, make_event
from tests.core.test_runtime import config


def test_the_sync_wrapper_delivers_from_plain_code() -> None:
    transport = RecordingTransport()
    with SyncRuntime(config(), transport=transport) as runtime:
        first = runtime.deliver(make_event("track"))
        more = runtime.deliver_many([make_event("page"), make_event("identify")])
    assert [first[0].status] + [o[0].status for o in more] == [Status.DELIVERED] * 3
    assert len(transport.requests) == 3


def test_it_closes_its_loop_when_the_block_fails_and_refuses_to_deliver_after() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    runtime = SyncRuntime(config(), transport=transport)
    with pytest.raises(ValueError, match="in the block"), runtime:
        raise ValueError("in the block")
    with pytest.raises(RuntimeError, match="closed: deliver inside its `with` block"):
        runtime.deliver(make_event("track"))


def test_it_cannot_run_inside_an_event_loop() -> None:
    async def inside() -> None:
        with SyncRuntime(config(), transport=RecordingTransport()):
            pass

    with pytest.raises(RuntimeError, match="inside an event loop: use `async with Runtime"):
        asyncio.run(inside())
