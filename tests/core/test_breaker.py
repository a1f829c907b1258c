"""Suspending a destination whose credentials are refused, over httpx.MockTransport."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit import Runtime, Status
from destkit.breaker import SUSPENDED
from destkit.durable import Durable
from destkit.errors import ConfigError
from destkit.state import StateStore
from destkit.testing import LoopbackServer, RecordedRequest, RecordingTransport, Reply, json_reply, make_event
from tests.processes import DESTKIT

REFUSED = httpx.Response(401, json={"message": "bad token"})


def runtime(respond: Callable[[httpx.Request], httpx.Response], **destination: Any) -> tuple[Runtime, RecordingTransport]:
    transport = RecordingTransport(respond)
    entry = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": "https://hooks.example.com"},
        "retry": {"max_attempts": 1},
        **destination,
    }
    return Runtime({"destinations": [entry]}, transport=transport), transport


def events(count: int) -> list[dict[str, Any]]:
    return [make_event("track", userId="u1", messageId=f"m-{n}") for n in range(count)]


@pytest.mark.parametrize(("limit", "sent"), [(1, 1), (3, 3), (10, 10)])
async def test_nothing_more_is_sent_after_the_limit_of_refusals(limit: int, sent: int) -> None:
    rt, transport = runtime(lambda request: REFUSED, auth_failure_limit=limit)
    async with rt:
        outcomes = [(await rt.deliver(event))[0] for event in events(12)]
    assert len(transport.requests) == sent
    codes = [outcome.error.code for outcome in outcomes if outcome.error is not None]
    assert codes == ["INVALID_AUTHENTICATION"] * (limit - 1) + [SUSPENDED] * (12 - limit + 1)
    assert all(outcome.status == Status.FAILED and outcome.error is not None for outcome in outcomes)
    assert outcomes[-1].error is not None and outcomes[-1].error.retryable  # so the state store parks it


def test_the_default_limit_is_ten() -> None:
    rt, _ = runtime(lambda request: REFUSED)
    assert rt.breakers.limits == {"hook": 10}


@pytest.mark.parametrize("between", [json_reply(), httpx.Response(500), httpx.Response(400)])
async def test_an_answer_that_is_not_a_refusal_starts_the_count_again(between: httpx.Response) -> None:
    answers = [REFUSED, REFUSED, between, REFUSED, REFUSED]
    rt, transport = runtime(lambda request: answers.pop(0), auth_failure_limit=3)
    async with rt:
        for event in events(5):
            await rt.deliver(event)
    assert len(transport.requests) == 5 and rt.breakers.suspension("hook") is None


async def test_a_limit_of_null_never_suspends() -> None:
    rt, transport = runtime(lambda request: REFUSED, auth_failure_limit=None)
    async with rt:
        for event in events(15):
            await rt.deliver(event)
    assert len(transport.requests) == 15


@pytest.mark.parametrize(
    ("entry", "words"),
    [({"auth_failure_limt": 3}, "auth_failure_limt: unknown key"), ({"auth_failure_limit": 0}, "auth_failure_limit")],
)
def test_the_limit_is_checked_strictly(entry: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        runtime(lambda request: REFUSED, **entry)


async def settle(rt: Runtime, durable: Durable, event: dict[str, Any]) -> Any:
    routed = rt.route(event)
    outcomes, operations = durable.settle(routed.event, await rt.send(routed))
    await durable.store.apply(operations)
    return outcomes[0]


async def test_with_the_state_store_what_is_suspended_is_parked_not_buried(store: StateStore) -> None:
    rt, _ = runtime(lambda request: REFUSED, auth_failure_limit=2, parking={"schedule": [60], "window": 600})
    durable = Durable(rt, store)
    async with rt:
        statuses = [(await settle(rt, durable, event)).status for event in events(4)]
    assert statuses == [Status.DEAD_LETTERED, Status.PARKED, Status.PARKED, Status.PARKED]
    assert {parked.error_code for parked in await store.parked()} == {SUSPENDED}


async def test_a_parked_suspension_still_refused_waits_again_even_past_its_window(store: StateStore) -> None:
    clock = [1_000_000.0]
    first, _ = runtime(lambda request: REFUSED, auth_failure_limit=1, parking={"schedule": [60], "window": 600})
    async with first:
        await settle(first, Durable(first, store, clock=lambda: clock[0]), events(1)[0])
    clock[0] += 3600  # long past the window: a restart with the credentials still wrong
    again, transport = runtime(lambda request: REFUSED, auth_failure_limit=5, parking={"schedule": [60], "window": 600})
    durable = Durable(again, store, clock=lambda: clock[0])
    (parked,) = await store.parked()
    async with again:
        routed = again.route(parked.event)
        outcomes, operations = durable.settle(parked.event, await again.send(routed), parked)
    await store.apply(operations)
    assert len(transport.requests) == 1 and outcomes[0].status == Status.PARKED
    (still,) = await store.parked()
    assert still.error_code == SUSPENDED and still.next_attempt_at == clock[0] + 60


# --- through real destkit processes -------------------------------------------------------------

GOOD, BAD = "hook-good-token-31337", "hook-bad-token-27182"


def refusing_server_config(folder: Path, url: str) -> Path:
    entry = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": url, "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}},
        "retry": {"max_attempts": 1},
        "parking": {"schedule": [0.2], "window": 600},
        "auth_failure_limit": 3,
    }
    path = folder / "hook.json"
    path.write_text(json.dumps({"destinations": [entry]}))
    return path


def destkit(*args: str, token: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HOOK_TOKEN": token}
    return subprocess.run([DESTKIT, *args], capture_output=True, text=True, timeout=120, env=environment)


def test_a_refused_token_suspends_a_real_replay_and_parked_run_delivers_once_it_is_fixed(tmp_path: Path) -> None:
    def answer(request: RecordedRequest) -> Reply:
        return (
            Reply(200, {})
            if request.headers.get("authorization") == f"Bearer {GOOD}"
            else Reply(401, {"refused": f"Bearer {BAD}"})
        )

    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(event) + "\n" for event in (make_event("track", userId=f"u{n}") for n in range(30))))
    state = str(tmp_path / "state.db")
    with LoopbackServer(answer) as server:
        config = str(refusing_server_config(tmp_path, server.url))
        common = ["--config", config, "--state", state, "--log-format", "json"]
        refused = destkit("replay", str(events), *common, "--workers", "1", "--concurrency", "1", "-q", token=BAD)
        assert refused.returncode == 1, refused.stderr
        assert len(server.requests) == 3  # then nothing more was sent
        assert "outcome hook/every event dead_lettered=2 parked=28" in refused.stdout
        assert "suspended hook not_sent=28" in refused.stdout
        lines = [json.loads(line) for line in refused.stderr.splitlines()]
        loud = [line for line in lines if line["message"].startswith("destination suspended")]
        assert [(line["level"], line["destination"], line["refusals"]) for line in loud] == [("error", "hook", 3)]
        assert BAD not in refused.stdout + refused.stderr

        fixed = destkit("parked", "run", "--wait", *common, token=GOOD)
        assert fixed.returncode == 0, fixed.stderr
        assert "delivered=28" in fixed.stdout and "still parked: 0" in fixed.stdout
        assert [request.headers["authorization"] for request in server.requests[3:]] == [f"Bearer {GOOD}"] * 28
