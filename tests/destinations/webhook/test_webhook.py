"""The webhook destination, tested the way a plugin author would test theirs: destkit.testing only."""

from __future__ import annotations

import httpx
import pytest

from destkit.destinations.webhook import destination
from destkit.testing import json_reply, make_event, run_action

SETTINGS = {"url": "https://hooks.example.com/segment", "headers": {"Authorization": "Bearer whk-0123456789"}}


def test_send_posts_the_whole_event_by_default() -> None:
    event = make_event("identify", userId="u1", traits={"plan": "pro"})
    run = run_action(destination, "send", event, settings=SETTINGS)
    assert run.outcome.status == "delivered"
    (request,) = run.requests
    assert (request.method, str(request.url)) == ("POST", "https://hooks.example.com/segment")
    assert request.headers["authorization"] == "Bearer whk-0123456789"
    assert run.json_bodies() == [event]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_send_uses_the_mapped_method_path_and_body(method: str) -> None:
    mapping = {"method": method, "path": {"@template": "/users/{{userId}}"}, "data": {"plan": {"@path": "$.traits.plan"}}}
    run = run_action(
        destination, "send", make_event("identify", userId="u1", traits={"plan": "pro"}), settings=SETTINGS, mapping=mapping
    )
    (request,) = run.requests
    assert (request.method, request.url.path) == (method, "/segment/users/u1")
    assert run.json_bodies() == [{"plan": "pro"}]


def test_send_retries_a_server_error_then_delivers() -> None:
    answers = iter([httpx.Response(502), httpx.Response(429, headers={"Retry-After": "2"}), json_reply()])
    run = run_action(destination, "send", make_event("track"), settings=SETTINGS, respond=lambda request: next(answers))
    assert (run.outcome.status, run.outcome.attempts, len(run.requests)) == ("delivered", 3, 3)
    assert run.sleeps[1] == 2.0


def test_send_batch_posts_an_array() -> None:
    run = run_action(destination, "send_batch", make_event("track", event="A"), settings=SETTINGS)
    assert run.outcome.status == "delivered"
    assert [body[0]["event"] for body in run.json_bodies()] == ["A"]


def test_a_url_that_is_not_http_is_refused_at_config_time() -> None:
    from destkit import ConfigError

    with pytest.raises(ConfigError, match="url: Value error, must start with http:// or https://"):
        run_action(destination, "send", make_event("track"), settings={"url": "hooks.example.com"})


@pytest.mark.parametrize("kind", ["identify", "track", "page", "screen", "group", "alias"])
def test_make_event_builds_valid_events_of_every_kind(kind: str) -> None:
    run = run_action(destination, "send", make_event(kind), settings=SETTINGS)
    assert run.outcome.status == "delivered", run.outcome
