"""run_action and run_batch: one or many events through the real runtime, offline, on virtual time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx
import pytest
from pydantic import BaseModel

from destkit import Action, BadRequest, BatchResult, Context, Destination, field
from destkit.destinations.webhook import destination as webhook
from destkit.testing import arun_action, json_reply, make_event, run_action, run_batch

HOOK = {"url": "https://hooks.example.com/in"}


class Numbered(BaseModel):
    n: int = field(default_mapping={"@path": "$.properties.n"}, description="A number.")


class NoSettings(BaseModel):
    pass


async def refuse_odd(ctx: Context[NoSettings], payloads: list[Numbered]) -> Sequence[BatchResult]:
    await ctx.http.post("https://api.example.com/batch", json=[p.n for p in payloads])
    return [BadRequest(f"{p.n} is odd") if p.n % 2 else None for p in payloads]


batched = Destination(
    slug="batched",
    name="Batched",
    description="Refuses odd numbers, one by one, in batches.",
    settings=NoSettings,
    actions=[Action(slug="numbers", title="Numbers", description="...", payload=Numbered, perform_batch=refuse_odd)],
)


def numbered(n: int, person: str | None = None) -> dict[str, object]:
    return make_event("track", userId=person or f"u{n}", properties={"n": n})


async def test_an_async_handler_answers_requests() -> None:
    answered: list[str] = []

    async def respond(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        answered.append(request.method)
        return json_reply(201)

    run = await arun_action(webhook, "send", make_event("track"), settings=HOOK, respond=respond)
    assert (run.outcome.status, answered) == ("delivered", ["POST"])


def test_run_batch_returns_each_events_outcome_in_the_events_order() -> None:
    run = run_batch(batched, "numbers", [numbered(n) for n in range(5)], batch={"size": 10})
    assert [(o.status, o.error and o.error.message) for o in run.outcomes] == [
        ("delivered", None),
        ("failed", "1 is odd"),
        ("delivered", None),
        ("failed", "3 is odd"),
        ("delivered", None),
    ]
    assert run.json_bodies() == [[0, 1, 2, 3, 4]]


def test_a_partly_filled_batch_waits_max_wait_on_virtual_time() -> None:
    started = time.perf_counter()
    run = run_batch(webhook, "send_batch", [numbered(n) for n in range(5)], settings=HOOK, batch={"size": 2, "max_wait": 30})
    assert [len(body) for body in run.json_bodies()] == [2, 2, 1]
    assert run.elapsed == 30.0  # the last event waited for company that never came
    assert time.perf_counter() - started < 10
    assert {o.status for o in run.outcomes} == {"delivered"}


def test_one_persons_events_go_out_one_batch_after_the_other() -> None:
    events = [numbered(n, person="same") for n in (0, 2)]
    run = run_batch(batched, "numbers", events, batch={"size": 10, "max_wait": 5})
    assert run.json_bodies() == [[0], [2]] and run.elapsed == 10.0


@pytest.mark.parametrize("respond", [None, lambda request: httpx.Response(500)])
async def test_an_always_batched_action_runs_its_one_event_at_once(respond: object) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    run = await arun_action(batched, "numbers", numbered(2), respond=respond, retry={"max_attempts": 1})  # type: ignore[arg-type]
    assert loop.time() - started < 1.0  # not the batch's 1-second wait, on a real clock
    assert len(run.requests) == 1


def test_run_action_waits_between_retries_without_sleeping() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "40"}), json_reply()])
    run = run_action(webhook, "send", make_event("track"), settings=HOOK, respond=lambda request: next(answers))
    assert (run.outcome.status, run.sleeps) == ("delivered", [40.0])
