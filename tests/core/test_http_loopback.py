"""The real transport against a real server on 127.0.0.1: what production runs, minus the internet."""

from __future__ import annotations

import asyncio
import json

from destkit import Runtime, Status
from destkit.testing import LoopbackServer, RecordedRequest, Reply, make_event


def config(url: str, **destination: object) -> dict[str, object]:
    return {
        "destinations": [
            {"name": "hook", "type": "webhook", "settings": {"url": url, "headers": {"X-Key": "key-abcdef"}}, **destination}
        ]
    }


async def test_delivers_over_real_http_with_headers_and_body() -> None:
    with LoopbackServer() as server:
        event = make_event("identify", userId="u1", traits={"name": "Ada & Co", "emoji": "\u2603"})
        async with Runtime(config(server.url + "/in")) as runtime:
            outcomes = await runtime.deliver(event)
    assert outcomes[0].status == Status.DELIVERED
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/in")
    assert request.headers["x-key"] == "key-abcdef"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == event


async def test_retries_over_real_http_honour_retry_after() -> None:
    answers = iter([Reply(503, {"busy": True}, {"Retry-After": "0.05"}), Reply(200, {})])
    with LoopbackServer(lambda request: next(answers)) as server:
        async with Runtime(config(server.url)) as runtime:
            loop = asyncio.get_running_loop()
            started = loop.time()
            outcomes = await runtime.deliver(make_event("track"))
            elapsed = loop.time() - started
    assert (outcomes[0].status, outcomes[0].attempts) == (Status.DELIVERED, 2)
    assert elapsed >= 0.05
    assert len(server.requests) == 2


async def test_a_server_slower_than_the_timeout_is_a_timeout() -> None:
    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(0.5)
        return Reply(200, {})

    with LoopbackServer(slow) as server:
        cfg = config(server.url, retry={"max_attempts": 2, "initial_delay": 0})
        cfg["runtime"] = {"timeout": 0.1}
        async with Runtime(cfg) as runtime:
            outcomes = await runtime.deliver(make_event("track"))
    error = outcomes[0].error
    assert outcomes[0].status == Status.FAILED
    assert error is not None and error.code == "TIMEOUT" and outcomes[0].attempts == 2


async def test_nothing_listening_is_a_retryable_connection_failure() -> None:
    with LoopbackServer() as server:
        url = server.url  # the port is free again once the server stops
    async with Runtime(config(url, retry={"max_attempts": 2, "initial_delay": 0})) as runtime:
        outcomes = await runtime.deliver(make_event("track"))
    error = outcomes[0].error
    assert outcomes[0].status == Status.FAILED
    assert error is not None and error.retryable and outcomes[0].attempts == 2


async def test_batches_arrive_as_json_arrays() -> None:
    with LoopbackServer() as server:
        cfg = config(server.url, subscriptions=[{"name": "b", "action": "send_batch", "batch": {"size": 50, "max_wait": 0.05}}])
        async with Runtime(cfg) as runtime:
            results = await runtime.deliver_many(make_event("track", userId=f"u{n}") for n in range(120))
    assert all(r[0].status == Status.DELIVERED for r in results)
    assert sorted(len(json.loads(r.body)) for r in server.requests) == [20, 50, 50]
