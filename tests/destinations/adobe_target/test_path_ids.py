"""Ids holding URL characters: sent as exactly one path segment, as the dry run prints them."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest

from destkit import Runtime, Status
from destkit.testing import LoopbackServer, RecordedRequest, Reply, make_event

PATH_IDS = ["a/b", "a?b=c", "a#b", "100%", "50%25", "a b", "é-ü", "..a", "a..", "./x", "&<>\"'", "(x)!*;,$"]


def _target_answers(request: RecordedRequest) -> Reply:
    if request.path.startswith("/rest/v1/profiles/"):
        return Reply(200, {"visitorId": "1", "profileAttributes": {}})
    return Reply(200, "<response><success>true</success></response>")


def _update_config(base_url: str) -> dict[str, Any]:
    subscription = {"name": "p", "action": "update_profile", "mapping": {"traits": {"@path": "$.traits"}}}
    settings = {"client_code": "acme", "base_url": base_url}
    return {"destinations": [{"name": "t", "type": "adobe-target", "settings": settings, "subscriptions": [subscription]}]}


async def test_what_a_dry_run_prints_is_what_is_sent() -> None:
    events = [make_event("identify", userId=i, traits={"plan": "pro"}) for i in PATH_IDS]
    with LoopbackServer(_target_answers) as server:
        async with Runtime(_update_config(server.url)) as runtime:
            sent = await runtime.deliver_many(events)
        printed = io.StringIO()
        async with Runtime(_update_config(server.url), dry_run=printed) as runtime:
            await runtime.deliver_many(events)
        received = [request.target for request in server.requests]
    assert [outcomes[0].status for outcomes in sent] == [Status.DELIVERED] * len(PATH_IDS)
    printed_targets = [line.split()[1].removeprefix(server.url) for line in printed.getvalue().splitlines()]
    assert sorted(printed_targets) == sorted(received)  # events go concurrently: compare sorted
    fetched = [target for target in received if target.startswith("/rest/v1/profiles/thirdPartyId/")]
    assert sorted(target.split("/")[5].split("?")[0] for target in fetched) == sorted(quote(i, safe="") for i in PATH_IDS)


@pytest.mark.parametrize("third_party_id", ["..", "."])
async def test_a_dot_segment_id_is_refused_and_nothing_is_sent(third_party_id: str) -> None:
    with LoopbackServer(_target_answers) as server:
        async with Runtime(_update_config(server.url)) as runtime:
            [[outcome]] = await runtime.deliver_many([make_event("identify", userId=third_party_id, traits={"a": "1"})])
        printed = io.StringIO()
        async with Runtime(_update_config(server.url), dry_run=printed) as runtime:
            [[rehearsed]] = await runtime.deliver_many([make_event("identify", userId=third_party_id, traits={"a": "1"})])
        assert server.requests == [] and printed.getvalue() == ""
    assert rehearsed.status == Status.INVALID
    assert outcome.status == Status.INVALID and outcome.error is not None
    assert outcome.error.code == "PAYLOAD_VALIDATION_FAILED" and "path segment" in outcome.error.message
