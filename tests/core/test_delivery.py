"""Delivering a stream of lines (destkit.replay.Delivery), over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json

import httpx

from destkit import Runtime
from destkit.replay import CHUNK, Delivery, deliver_chunks
from destkit.sources import Line
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
    # Of the two deliveries the window had started, those that had begun finish and are settled;
    # nothing after them starts.
    assert 1 <= len(transport.requests) <= 2 and sorted(settled) == sent_lines(transport)


async def test_once_asked_to_stop_events_still_waiting_for_a_place_are_not_sent() -> None:
    stopping = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        stopping.set()  # the first request to arrive asks the delivery to stop
        await asyncio.sleep(0.01)
        return json_reply()

    transport = RecordingTransport(answer)
    settled: list[int] = []
    async with webhook(transport, concurrency=2) as runtime:
        # A window of 64 events started, two places on the network: 62 wait for a place.
        delivery = Delivery(runtime, lambda line, outcomes: settled.append(line), window=64, stopping=stopping)
        await deliver_chunks([lines(CHUNK)], delivery)
    # Those that had a place finish and are settled; those still waiting send nothing and stay unsettled.
    assert 1 <= len(transport.requests) <= 2 and sorted(settled) == sent_lines(transport)


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
