"""Settling outcomes against the state store (both backends), over httpx.MockTransport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from destkit import Runtime, Status
from destkit.durable import ALREADY_DELIVERED, Durable
from destkit.replay import deliver_parked, replay_lines
from destkit.sources import Line
from destkit.state import CommitGroup, StateStore
from destkit.testing import RecordingTransport, json_reply, make_event


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def runtime(answer: httpx.Response, **destination: Any) -> tuple[Runtime, RecordingTransport]:
    transport = RecordingTransport(lambda request: answer)
    entry = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": "https://hooks.example.com"},
        "retry": {"max_attempts": 1},
        "parking": {"schedule": [60, 300], "window": 600},
        **destination,
    }
    return Runtime({"destinations": [entry]}, transport=transport), transport


async def deliver(runtime: Runtime, durable: Durable, event: dict[str, Any]) -> Any:
    routed = runtime.route(event)
    await durable.skip_delivered([routed])
    outcomes, operations = durable.settle(routed.event, await runtime.send(routed))
    await durable.store.apply(operations)
    return outcomes


async def test_delivered_goes_in_the_ledger_and_is_not_sent_twice(store: StateStore) -> None:
    rt, transport = runtime(json_reply())
    durable = Durable(rt, store)
    event = make_event("track", messageId="m-1")
    async with rt:
        first = await deliver(rt, durable, dict(event))
        second = await deliver(rt, durable, dict(event))
        forced = await deliver(rt, Durable(rt, store, force=True), dict(event))
    assert [first[0].status, second[0].status, forced[0].status] == [Status.DELIVERED, Status.ALREADY_DELIVERED, Status.DELIVERED]
    assert second[0].reason == ALREADY_DELIVERED
    assert len(transport.requests) == 2


@pytest.mark.parametrize(
    ("answer", "status", "next_in"),
    [
        (httpx.Response(503), Status.PARKED, 60),
        (httpx.Response(429, headers={"Retry-After": "120"}), Status.PARKED, 120),  # the server asked for longer
        (httpx.Response(429, headers={"Retry-After": "3600"}), Status.DEAD_LETTERED, None),  # past the window
        (httpx.Response(400), Status.DEAD_LETTERED, None),  # no retry can fix it
        (httpx.Response(401), Status.DEAD_LETTERED, None),
    ],
)
async def test_failures_are_parked_or_dead_lettered(
    store: StateStore, answer: httpx.Response, status: Status, next_in: float | None
) -> None:
    rt, _ = runtime(answer)
    clock = Clock()
    durable = Durable(rt, store, clock=clock)
    async with rt:
        (outcome,) = await deliver(rt, durable, make_event("track", messageId="m-2"))
    assert outcome.status == status
    if next_in is not None:
        (parked,) = await store.parked()
        assert parked.next_attempt_at == clock.now + next_in
        assert parked.give_up_at == clock.now + 600
    else:
        (letter,) = await store.dead_letters()
        assert outcome.error is not None
        assert letter.error_code == outcome.error.code
        assert len(letter.mapping_hash) == 16


async def test_the_schedule_steps_on_until_the_window_closes(store: StateStore) -> None:
    rt, _ = runtime(httpx.Response(503))
    clock = Clock()
    durable = Durable(rt, store, clock=clock)
    seen: list[Status] = []
    async with rt, CommitGroup(store) as commits:
        await deliver(rt, durable, make_event("track", messageId="m-3"))
        for step in (60, 300, 300):
            clock.now += step
            await deliver_parked(
                rt, durable, commits, lambda parked, outcomes: seen.extend(o.status for o in outcomes), owner="w", lease=30
            )
            await commits.flush()
    # Parked at 0; tried at 60 (parked again for 300 s); tried at 360, when another 300 s
    # would pass the 600 s window: a dead letter after three attempts in all.
    assert seen == [Status.PARKED, Status.DEAD_LETTERED]
    (letter,) = await store.dead_letters()
    assert letter.attempts == 3
    assert letter.error_message == "gave up after 3 attempts over 6 min (the parking window): POST / answered 503"


async def test_invalid_payloads_stay_invalid_and_are_not_kept(store: StateStore) -> None:
    rt, transport = runtime(
        json_reply(), subscriptions=[{"name": "s", "action": "send", "mapping": {"data": {"@path": "$.event"}}}]
    )
    async with rt:
        (outcome,) = await deliver(rt, Durable(rt, store), make_event("track"))
    assert outcome.status == Status.INVALID and await store.dead_letters() == [] and await store.parked() == []
    assert transport.requests == []


async def test_a_delivery_the_runtime_crashes_on_is_a_dead_letter(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, _ = runtime(json_reply())

    async def broken_send(routed: Any, stopping: Any = None) -> Any:  # a bug inside destkit, not a delivery problem
        raise KeyError("oops")

    monkeypatch.setattr(rt, "send", broken_send)
    results: list[Any] = []
    async with rt, CommitGroup(store) as commits:
        lines = [Line(1, make_event("track", messageId="m-crash"))]
        await replay_lines(
            lines, rt, lambda line, outcomes: results.extend(outcomes), durable=Durable(rt, store), commits=commits
        )
    (outcome,) = results
    assert (outcome.status, outcome.destination, outcome.error.code) == (Status.DEAD_LETTERED, "hook", "INTERNAL_ERROR")
    assert "KeyError" in outcome.error.message
    (letter,) = await store.dead_letters()
    assert (letter.message_id, letter.event["messageId"]) == ("m-crash", "m-crash")
