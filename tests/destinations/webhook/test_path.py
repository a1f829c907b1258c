"""A webhook path mapped from an event is a path: it never sends the request anywhere else."""

from __future__ import annotations

from typing import Any

import pytest

from destkit import Runtime, Status
from destkit.testing import LoopbackServer, make_event

HOSTILE_PATHS = [
    "http://{other}/stolen",
    "https://{other}/stolen",
    "//{other}/stolen",
    "\\\\{other}\\stolen",
    "/\\{other}/stolen",
    "@{other}/stolen",
    "%2F%2F{other}/stolen",
    "/%2F{other}/stolen",
    "%252F%252F{other}/stolen",
    "/hooks/%2E%2E/%2E%2E/stolen",
    "/hooks/../stolen",
]


def _config(url: str) -> dict[str, Any]:
    subscription = {"name": "s", "action": "send", "mapping": {"path": {"@path": "$.properties.path"}}}
    entry = {"name": "hook", "type": "webhook", "settings": {"url": url, "headers": {"Authorization": "Bearer t0ken"}}}
    return {"destinations": [{**entry, "subscriptions": [subscription]}]}


@pytest.mark.parametrize("path", HOSTILE_PATHS)
async def test_a_path_naming_another_host_is_an_invalid_payload_and_nothing_is_sent(path: str) -> None:
    with LoopbackServer() as own, LoopbackServer() as other:
        hostile = path.format(other=other.url.removeprefix("http://"))
        async with Runtime(_config(own.url)) as runtime:
            [[outcome]] = await runtime.deliver_many([make_event("track", event="x", properties={"path": hostile})])
        assert (own.requests, other.requests) == ([], [])
    assert outcome.status == Status.INVALID and outcome.error is not None
    assert outcome.error.code == "PAYLOAD_VALIDATION_FAILED" and "path" in outcome.error.message


@pytest.mark.parametrize("path", ["/orders/42", "/users/a@b.example", "/q?next=http://x.example/", ""])
async def test_a_path_under_the_url_is_sent_there(path: str) -> None:
    with LoopbackServer() as own:
        async with Runtime(_config(own.url + "/base")) as runtime:
            [[outcome]] = await runtime.deliver_many([make_event("track", event="x", properties={"path": path})])
        [request] = own.requests
    assert outcome.status == Status.DELIVERED
    assert request.target == "/base" + path
