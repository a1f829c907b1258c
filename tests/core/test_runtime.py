"""The runtime end to end over httpx.MockTransport: outcomes, retries, ordering, redaction."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from destkit import Action, Context, Destination, Registry, Runtime, Status, field
from destkit.destinations.webhook import destination as webhook
from destkit.testing import RecordingTransport, json_reply, make_event

TOKEN = "tok-secret-123456"


def config(subscriptions: list[dict[str, Any]] | None = None, **destination: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": "https://hooks.example.com/in", "headers": {"Authorization": f"Bearer {TOKEN}"}},
    }
    if subscriptions is not None:
        entry["subscriptions"] = subscriptions
    entry.update(destination)
    return {"destinations": [entry]}


async def deliver(
    event: dict[str, Any], respond: Callable[[httpx.Request], httpx.Response], **destination: Any
) -> tuple[list[Any], RecordingTransport, list[float]]:
    transport = RecordingTransport(respond)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with Runtime(config(**destination), transport=transport, sleep=sleep) as runtime:
        outcomes = await runtime.deliver(event)
    return outcomes, transport, sleeps


def answers(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)
    return lambda request: queue.pop(0) if len(queue) > 1 else queue[0]


async def test_a_delivered_event_reports_one_attempt_and_posts_the_whole_event() -> None:
    event = make_event("track", userId="u1", event="Signed Up")
    outcomes, transport, _ = await deliver(event, answers(json_reply()))
    assert [(o.status, o.destination, o.subscription, o.action, o.attempts) for o in outcomes] == [
        (Status.DELIVERED, "hook", "every event", "send", 1)
    ]
    request = transport.requests[0]
    assert str(request.url) == "https://hooks.example.com/in"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == event


@pytest.mark.parametrize(
    ("responses", "status", "code", "attempts", "sleeps"),
    [
        # 429 with Retry-After: waits exactly what the destination asked, then succeeds
        ([httpx.Response(429, headers={"Retry-After": "7"}), json_reply()], Status.DELIVERED, None, 2, [7.0]),
        # a Retry-After past the cap is not waited for here, nor retried sooner than asked
        ([httpx.Response(429, headers={"Retry-After": "3600"}), json_reply()], Status.FAILED, "RATE_LIMITED", 1, []),
        # 503 twice, then success
        ([httpx.Response(503), httpx.Response(503), json_reply()], Status.DELIVERED, None, 3, None),
        # 500 for ever: gives up after max_attempts, counting every attempt
        ([httpx.Response(500)], Status.FAILED, "RETRYABLE_ERROR", 4, None),
        # 408 and 423 are retryable too
        ([httpx.Response(408), json_reply()], Status.DELIVERED, None, 2, None),
        ([httpx.Response(423), json_reply()], Status.DELIVERED, None, 2, None),
        # non-retryable: one attempt only
        ([httpx.Response(400, json={"error": "bad field"})], Status.FAILED, "BAD_REQUEST", 1, []),
        ([httpx.Response(401)], Status.FAILED, "INVALID_AUTHENTICATION", 1, []),
        ([httpx.Response(403)], Status.FAILED, "INVALID_AUTHENTICATION", 1, []),
        ([httpx.Response(404)], Status.FAILED, "NOT_FOUND", 1, []),
        ([httpx.Response(501)], Status.FAILED, "NOT_IMPLEMENTED", 1, []),
        ([httpx.Response(429)], Status.FAILED, "RATE_LIMITED", 4, None),
    ],
)
async def test_retry_policy(
    responses: list[httpx.Response], status: Status, code: str | None, attempts: int, sleeps: list[float] | None
) -> None:
    outcomes, transport, slept = await deliver(make_event("track"), answers(*responses))
    outcome = outcomes[0]
    assert outcome.status == status
    assert (outcome.error.code if outcome.error else None) == code
    assert outcome.attempts == attempts == len(transport.requests)
    if sleeps is not None:
        assert slept == sleeps
    else:
        assert len(slept) == attempts - 1
        assert all(0 <= s <= 20 for s in slept)


async def test_backoff_is_exponential_with_full_jitter_and_bounded() -> None:
    random.seed(1)
    _, _, slept = await deliver(
        make_event("track"), answers(httpx.Response(503)), retry={"max_attempts": 6, "initial_delay": 1, "max_delay": 4}
    )
    ceilings = [1, 2, 4, 4, 4]
    assert len(slept) == 5
    assert all(0 <= s <= c for s, c in zip(slept, ceilings, strict=True))
    assert len(set(slept)) == 5  # jittered, not fixed


async def test_max_elapsed_stops_before_a_wait_that_would_pass_it() -> None:
    outcomes, transport, slept = await deliver(
        make_event("track"),
        answers(httpx.Response(429, headers={"Retry-After": "30"})),
        retry={"max_attempts": 10, "max_elapsed": 45},
    )
    assert outcomes[0].status == Status.FAILED
    assert outcomes[0].error is not None and outcomes[0].error.code == "RATE_LIMITED"
    assert slept == [30.0]  # a second 30 s wait would end past 45 s
    assert len(transport.requests) == 2


async def test_a_request_that_times_out_is_retried_as_TIMEOUT() -> None:
    calls: list[int] = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ReadTimeout("timed out", request=request)
        return json_reply()

    outcomes, _, slept = await deliver(make_event("track"), respond)
    assert outcomes[0].status == Status.DELIVERED
    assert outcomes[0].attempts == 3
    assert len(slept) == 2


async def test_a_timeout_that_never_ends_fails_with_the_TIMEOUT_code() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no route", request=request)

    outcomes, _, _ = await deliver(make_event("track"), respond)
    assert outcomes[0].error is not None
    assert (outcomes[0].status, outcomes[0].error.code, outcomes[0].error.retryable) == (Status.FAILED, "TIMEOUT", True)


async def test_a_refused_connection_is_retried_as_a_connection_error() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    outcomes, _, _ = await deliver(make_event("track"), respond)
    assert outcomes[0].error is not None
    assert (outcomes[0].error.code, outcomes[0].attempts) == ("CONNECTION_ERROR", 4)


async def test_secrets_never_reach_an_outcome_even_when_the_server_echoes_them() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"rejected header Authorization: {request.headers['authorization']}")

    outcomes, _, _ = await deliver(make_event("track"), respond)
    error = outcomes[0].error
    assert error is not None and error.code == "BAD_REQUEST"
    assert TOKEN not in error.message
    assert "***" in error.message
    assert TOKEN not in json.dumps(outcomes[0].to_dict())


async def test_error_messages_name_the_path_but_not_the_query() -> None:
    outcomes, _, _ = await deliver(
        make_event("track"),
        answers(httpx.Response(400)),
        subscriptions=[{"name": "s", "action": "send", "mapping": {"path": "/x?email=a@b.com"}}],
    )
    assert outcomes[0].error is not None
    assert outcomes[0].error.message == "POST /in/x answered 400"


async def test_events_of_one_person_are_delivered_in_order_under_concurrency() -> None:
    arrivals: dict[str, list[int]] = {}
    rng = random.Random(7)

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(await request.aread())
            await asyncio.sleep(rng.random() / 200)
            arrivals.setdefault(body["userId"], []).append(body["properties"]["n"])
            await asyncio.sleep(rng.random() / 200)
            return httpx.Response(200, json={})

    events = [make_event("track", userId=f"user-{n % 5}", properties={"n": n}) for n in range(200)]
    async with Runtime(config(), transport=Slow(), concurrency=16) as runtime:
        results = await runtime.deliver_many(events)
    assert all(outcomes[0].status == Status.DELIVERED for outcomes in results)
    assert set(arrivals) == {f"user-{k}" for k in range(5)}
    for user, numbers in arrivals.items():
        assert numbers == sorted(numbers), user


async def test_concurrency_is_bounded() -> None:
    in_flight = 0
    peak = 0

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1
            return httpx.Response(200, json={})

    events = [make_event("track", userId=f"user-{n}") for n in range(100)]
    async with Runtime(config(), transport=Counting(), concurrency=7) as runtime:
        await runtime.deliver_many(events)
    assert peak == 7


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"type": "track", "userId": "u"}, "track: event: missing"),
        ({"type": "track", "event": "x"}, "needs a userId or an anonymousId"),
        ({"type": "launch", "userId": "u"}, "unknown call type 'launch'"),
        ({"userId": "u"}, "type: missing"),
        ({"type": "group", "userId": "u"}, "group: groupId: missing"),
        ({"type": "alias", "userId": "u"}, "alias: previousId: missing"),
        ({"type": "identify", "userId": "u", "traits": "tall"}, "traits: Input should be a valid dictionary"),
        ({"type": "identify", "userId": "u", "timestamp": "yesterday"}, "timestamp:"),
        ({"type": "identify", "userId": "u", "messageId": "m" * 101}, "messageId: String should have at most 100 characters"),
        # The state store keys deliveries by these: a NUL would end them early in SQLite's JSON.
        ({"type": "identify", "userId": "u", "messageId": "m\x00one"}, "messageId: must not contain a NUL character"),
        ({"type": "identify", "anonymousId": "a\x00"}, "anonymousId: must not contain a NUL character"),
        (["not", "an", "object"], "must be a JSON object, not an array"),
        ("text", "must be a JSON object, not a string"),
    ],
)
async def test_a_bad_event_is_an_invalid_outcome_naming_the_field(event: Any, words: str) -> None:
    outcomes, transport, _ = await deliver(event, answers(json_reply()))
    assert len(outcomes) == 1
    assert outcomes[0].status == Status.INVALID
    assert outcomes[0].error is not None and outcomes[0].error.code == "INVALID_EVENT"
    assert words in outcomes[0].error.message
    assert transport.requests == []


async def test_an_event_without_messageId_gets_a_stable_one() -> None:
    event = {"type": "track", "event": "x", "userId": "u"}
    first, _, _ = await deliver(dict(event), answers(json_reply()))
    second, _, _ = await deliver(dict(event), answers(json_reply()))
    assert first[0].message_id == second[0].message_id
    assert first[0].message_id is not None and first[0].message_id.startswith("dk-")


async def test_unknown_fields_are_kept_and_reach_the_mapping() -> None:
    event = make_event("track", userId="u", custom={"deep": 1})
    _, transport, _ = await deliver(event, answers(json_reply()))
    assert json.loads(transport.requests[0].content)["custom"] == {"deep": 1}


async def test_an_event_no_trigger_matches_is_skipped_once() -> None:
    subs = [{"name": "orders", "action": "send", "trigger": 'event = "Order Completed"'}]
    outcomes, transport, _ = await deliver(make_event("track", event="Other"), answers(json_reply()), subscriptions=subs)
    assert [(o.status, o.destination, o.reason) for o in outcomes] == [
        (Status.SKIPPED, None, "no subscription's trigger matched")
    ]
    assert transport.requests == []


@pytest.mark.parametrize(
    ("integrations", "skipped"),
    [
        ({"hook": False}, True),
        ({"Webhook": False}, True),
        ({"All": False}, True),
        ({"All": False, "hook": True}, False),
        ({"Other": False}, False),
        ({}, False),
    ],
)
async def test_the_integrations_object_can_turn_a_destination_off(integrations: dict[str, Any], skipped: bool) -> None:
    outcomes, transport, _ = await deliver(make_event("track", integrations=integrations), answers(json_reply()))
    assert (outcomes[0].status == Status.SKIPPED) is skipped
    assert len(transport.requests) == (0 if skipped else 1)


async def test_each_matching_subscription_gets_its_own_outcome() -> None:
    subs = [
        {"name": "all", "action": "send"},
        {"name": "tracks", "action": "send", "trigger": 'type = "track"', "mapping": {"path": "/t"}},
        {"name": "pages", "action": "send", "trigger": 'type = "page"'},
    ]
    outcomes, transport, _ = await deliver(make_event("track"), answers(json_reply()), subscriptions=subs)
    assert sorted(o.subscription or "" for o in outcomes) == ["all", "tracks"]
    assert sorted(r.url.path for r in transport.requests) == ["/in", "/in/t"]


async def test_a_payload_the_action_refuses_is_invalid_and_names_the_field() -> None:
    subs = [{"name": "s", "action": "send", "mapping": {"data": {"@path": "$.event"}, "method": "DELETE"}}]
    outcomes, transport, _ = await deliver(make_event("track"), answers(json_reply()), subscriptions=subs)
    error = outcomes[0].error
    assert outcomes[0].status == Status.INVALID
    assert error is not None and error.code == "PAYLOAD_VALIDATION_FAILED"
    assert "data: Input should be a valid dictionary" in error.message
    assert "method: Input should be 'POST', 'PUT' or 'PATCH'" in error.message
    assert transport.requests == []


async def test_a_mapping_that_fails_on_one_event_is_invalid_for_that_event_only() -> None:
    subs = [
        {
            "name": "s",
            "action": "send",
            "mapping": {"data": {"@flatten": {"separator": {"@path": "$.properties.sep"}, "value": {}}}},
        }
    ]
    transport = RecordingTransport()
    async with Runtime(config(subscriptions=subs), transport=transport) as runtime:
        bad = await runtime.deliver(make_event("track", properties={"sep": 1}))
        good = await runtime.deliver(make_event("track", properties={"sep": "."}))
    assert bad[0].status == Status.INVALID and bad[0].error is not None and bad[0].error.code == "MAPPING_FAILED"
    assert good[0].status == Status.DELIVERED


class _Payload(BaseModel):
    name: str = field(default_mapping={"@path": "$.event"}, description="x")


async def _broken_perform(ctx: Context[Any], payload: _Payload) -> None:
    raise KeyError(f"oops {TOKEN}")


class _Settings(BaseModel):
    token: str = TOKEN


broken = Destination(
    slug="broken",
    name="Broken",
    description="raises",
    settings=_Settings,
    actions=[
        Action(
            slug="go", title="Go", description="x", payload=_Payload, perform=_broken_perform, default_trigger='type = "track"'
        )
    ],
)


async def test_a_plugin_bug_is_a_failed_outcome_not_a_crash() -> None:
    cfg = {"destinations": [{"name": "b", "type": "broken", "subscriptions": [{"name": "s", "action": "go"}]}]}
    async with Runtime(cfg, registry=Registry.of(broken), transport=RecordingTransport()) as runtime:
        outcomes = await runtime.deliver(make_event("track"))
    error = outcomes[0].error
    assert outcomes[0].status == Status.FAILED
    assert error is not None and error.code == "PLUGIN_ERROR"
    assert "KeyError" in error.message
    assert outcomes[0].attempts == 1


async def test_batched_actions_send_arrays_and_report_each_event() -> None:
    subs = [{"name": "b", "action": "send_batch", "batch": {"size": 3, "max_wait": 0.05}}]
    transport = RecordingTransport()
    events = [make_event("track", userId=f"u{n}", properties={"n": n}) for n in range(7)]
    async with Runtime(config(subscriptions=subs), transport=transport) as runtime:
        results = await runtime.deliver_many(events)
    assert [outcomes[0].status for outcomes in results] == [Status.DELIVERED] * 7
    sizes = sorted(len(json.loads(r.content)) for r in transport.requests)
    assert sizes == [1, 3, 3]
    sent = sorted(item["properties"]["n"] for r in transport.requests for item in json.loads(r.content))
    assert sent == list(range(7))


async def test_a_failed_batch_fails_each_of_its_events() -> None:
    subs = [{"name": "b", "action": "send_batch", "batch": {"size": 2, "max_wait": 0.01}}]
    transport = RecordingTransport(lambda request: httpx.Response(400))
    async with Runtime(config(subscriptions=subs), transport=transport) as runtime:
        results = await runtime.deliver_many([make_event("track", userId="a"), make_event("track", userId="b")])
    assert [(o[0].status, o[0].error.code if o[0].error else None) for o in results] == [(Status.FAILED, "BAD_REQUEST")] * 2


async def test_deliver_before_start_explains_itself() -> None:
    runtime = Runtime(config(), transport=RecordingTransport())
    with pytest.raises(RuntimeError, match="async with Runtime"):
        await runtime.deliver(make_event("track"))


def test_webhook_is_a_valid_registered_destination() -> None:
    assert Registry.from_entry_points().get("webhook") is webhook
