"""Delivering a stream of lines (destkit.replay.Delivery), over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx

from destkit import Runtime
from destkit.durable import Durable
from destkit.replay import CHUNK, Delivery, deliver_chunks
from destkit.sources import Line
from destkit.state import CommitGroup, StateStore
from destkit.testing import RecordingTransport, json_reply, make_event


def webhook(answer: RecordingTransport, concurrency: int | None = None) -> Runtime:
    entry = {"name": "hook", "type": "webhook", "settings": {"url": "https://hooks.example.com"}}
    return Runtime({"destinations": [entry]}, transport=answer, concurrency=concurrency)


def lines(count: int) -> list[Line]:
    return [Line(n, make_event("track", messageId=f"m-{n}", userId=f"u-{n}")) for n in range(1, count + 1)]


def sent_lines(transport: RecordingTransport) -> list[int]:
    """The lines whose events were sent (each event's messageId is ``m-<line>``)."""
    return sorted(int(json.loads(request.content)["messageId"][2:]) for request in transport.requests)


async def test_once_asked_to_stop_no_more_deliveries_start_and_the_rest_of_the_chunk_stays_unsettled() -> None:
    stopping = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        stopping.set()  # the first request to arrive asks the delivery to stop
        return json_reply()

    transport = RecordingTransport(answer)
    settled: list[int] = []
    async with webhook(transport) as runtime:
        delivery = Delivery(runtime, lambda line, outcomes: settled.append(line), window=2, stopping=stopping)
        await deliver_chunks([lines(CHUNK)], delivery)
    # The two deliveries the window had started finish and are settled; nothing after them starts.
    assert len(transport.requests) == 2 and sorted(settled) == [1, 2]


async def stopped_at_the_first_request(events: list[Line], store: StateStore | None) -> tuple[list[int], list[int]]:
    """Deliver ``events`` with two places on the network and a window of 64, the first request
    asking to stop; with ``store``, keeping the ledger. The lines sent, and those settled."""
    stopping = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        stopping.set()
        await asyncio.sleep(0.01)
        return json_reply()

    transport = RecordingTransport(answer)
    settled: list[int] = []
    async with webhook(transport, concurrency=2) as runtime, contextlib.AsyncExitStack() as stack:
        durable, commits = None, None
        if store is not None:
            durable, commits = Durable(runtime, store), await stack.enter_async_context(CommitGroup(store))
        delivery = Delivery(runtime, lambda line, _: settled.append(line), 64, durable, commits, stopping=stopping)
        await deliver_chunks([events], delivery)
    return sent_lines(transport), sorted(settled)


async def test_once_asked_to_stop_events_still_waiting_for_a_place_are_not_sent(store: StateStore) -> None:
    sent, settled = await stopped_at_the_first_request(lines(CHUNK), store)
    # Those that had a place finish and are settled; the other 62 started send nothing and stay
    # unsettled (resuming sends them; the ledger skips what was sent).
    assert 1 <= len(sent) <= 2 and settled == sent
    assert await store.delivered([(f"m-{n}", "hook", "every event") for n in range(1, 65)]) == {
        (f"m-{n}", "hook", "every event") for n in sent
    }


async def test_a_persons_events_after_one_held_back_are_held_back_too(store: StateStore) -> None:
    one_person = [Line(n, make_event("track", messageId=f"m-{n}", userId="u")) for n in range(1, 65)]
    assert await stopped_at_the_first_request(one_person, store) == ([1], [1])


async def test_without_the_ledger_every_event_started_is_sent_on_a_stop() -> None:
    # Holding some back would leave settled lines after unsettled ones: resuming would send those twice.
    sent, settled = await stopped_at_the_first_request(lines(CHUNK), None)
    assert sent == settled == list(range(1, 65))


async def test_without_a_stop_every_line_of_a_chunk_is_delivered_within_the_window() -> None:
    in_flight, most = 0, 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return json_reply()

    transport = RecordingTransport(answer)
    settled: list[int] = []
    async with webhook(transport) as runtime:
        delivery = Delivery(runtime, lambda line, outcomes: settled.append(line), window=3, stopping=asyncio.Event())
        await deliver_chunks([lines(CHUNK), lines(5)], delivery)
    assert sorted(settled) == sorted([*range(1, CHUNK + 1), *range(1, 6)]) and most <= 3
