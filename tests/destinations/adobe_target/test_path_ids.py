"""Ids holding URL characters: sent as exactly one path segment, never as a dot segment."""

from __future__ import annotations

from typing import Any

import pytest

from destkit import Runtime, Status
from destkit.testing import LoopbackServer, RecordedRequest, Reply, make_event


def _target_answers(request: RecordedRequest) -> Reply:
    if request.path.startswith("/rest/v1/profiles/"):
        return Reply(200, {"visitorId": "1", "profileAttributes": {}})
    return Reply(200, "<response><success>true</success></response>")


def _update_config(base_url: str) -> dict[str, Any]:
    subscription = {"name": "p", "action": "update_profile", "mapping": {"traits": {"@path": "$.traits"}}}
    settings = {"client_code": "acme", "base_url": base_url}
    return {"destinations": [{"name": "t", "type": "adobe-target", "settings": settings, "subscriptions": [subscription]}]}


@pytest.mark.parametrize("third_party_id", ["..", "."])
async def test_a_dot_segment_id_is_refused_and_nothing_is_sent(third_party_id: str) -> None:
    with LoopbackServer(_target_answers) as server:
        async with Runtime(_update_config(server.url)) as runtime:
            [[outcome]] = await runtime.deliver_many([make_event("identify", userId=third_party_id, traits={"a": "1"})])
        assert server.requests == []
    assert outcome.status == Status.INVALID and outcome.error is not None
    assert outcome.error.code == "PAYLOAD_VALIDATION_FAILED" and "path segment" in outcome.error.message
