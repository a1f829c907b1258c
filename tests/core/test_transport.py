"""destkit's HTTP transport, over real loopback HTTP: what plugins read is what httpx would give."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import socket
import zlib
from typing import Any

import httpx
import pytest

from destkit import Runtime, Status
from destkit.errors import DeliveryError
from destkit.http import RequestDefaults, Requester
from destkit.testing import LoopbackServer, RecordedRequest, Reply, make_event
from destkit.transport import Transport
from destkit.wire import _encode_json, headers_from_raw


async def exchange(transport: Transport, url: str, method: str = "POST", **options: Any) -> httpx.Response:
    requester = Requester(transport, RequestDefaults(base_url=url), timeout=options.pop("timeout", 5.0))
    return await requester.request(method, "/in", raise_for_status=False, **options)


async def test_a_request_arrives_as_built_and_its_answer_reads_as_httpx_reads_it() -> None:
    def answer(request: RecordedRequest) -> Reply:
        return Reply(201, {"echo": request.json(), "agent": request.headers.get("user-agent")}, {"X-Trace": "t-1"})

    with LoopbackServer(answer) as server:
        async with Transport() as transport:
            response = await exchange(transport, server.url, json={"n": 1, "name": "Zoë"}, headers={"X-Id": "a b"})
    assert (response.status_code, response.headers["x-trace"], response.headers["content-type"]) == (
        201,
        "t-1",
        "application/json",
    )
    assert response.json() == {"echo": {"n": 1, "name": "Zoë"}, "agent": "destkit"}
    sent = server.requests[0]
    assert (sent.method, sent.path, sent.headers["x-id"], sent.headers["content-type"]) == (
        "POST",
        "/in",
        "a b",
        "application/json",
    )
    assert response.request.url == httpx.URL(f"{server.url}/in")


async def test_a_compressed_answer_is_decoded_when_read() -> None:
    body = gzip.compress(json.dumps({"ok": True}).encode())

    with LoopbackServer(
        lambda request: Reply(200, body, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    ) as server:
        async with Transport() as transport:
            response = await exchange(transport, server.url, method="GET")
    assert response.json() == {"ok": True} and response.headers["content-encoding"] == "gzip"


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
    ],
)
async def test_a_compressed_answer_that_unpacks_past_the_limit_is_refused_before_it_is_unpacked(coding: str, pack: Any) -> None:
    bomb = pack(b"0" * 5_000_000)  # a few kilobytes on the wire
    assert len(bomb) < 100_000

    bodies = [bomb, pack(b'{"ok": true}')]  # then an answer that unpacks within the limit

    def answer(request: RecordedRequest) -> Reply:
        return Reply(200, bodies.pop(0), {"Content-Encoding": coding, "Content-Type": "application/json"})

    with LoopbackServer(answer) as server:
        async with Transport(max_answer_bytes=1_000_000) as transport:
            with pytest.raises(DeliveryError) as raised:
                await exchange(transport, server.url, method="GET")
            fine = await exchange(transport, server.url, method="GET")
    # Answered 200: the destination took the request, which is not sent again.
    assert (raised.value.code, raised.value.retryable) == ("ANSWER_UNREADABLE", False)
    assert "answered 200" in raised.value.message and "unpacks to over 1,000,000 bytes" in raised.value.message
    assert fine.json() == {"ok": True}


@pytest.mark.parametrize("coding", ["br", "zstd"])
async def test_an_answer_in_a_coding_destkit_cannot_bound_is_refused(coding: str) -> None:
    with LoopbackServer(lambda request: Reply(200, b"\x00" * 100, {"Content-Encoding": coding})) as server:
        async with Transport() as transport:
            with pytest.raises(DeliveryError, match=f"content coding '{coding}'"):
                await exchange(transport, server.url, method="GET")


@pytest.mark.parametrize("declared", [True, False], ids=["with Content-Length", "chunked"])
@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(200, "ANSWER_UNREADABLE", False), (503, "CONNECTION_ERROR", True), (400, "CONNECTION_ERROR", True)],
)
async def test_an_answer_larger_than_what_is_read_is_not_sent_again_after_a_2xx_status(
    declared: bool, status: int, code: str, retryable: bool
) -> None:
    big = b"x" * 5000

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"5000")] if declared else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": big})

    with LoopbackServer(app=app) as server:
        async with Transport(max_answer_bytes=1000) as transport:
            with pytest.raises(DeliveryError) as raised:
                await exchange(transport, server.url, method="GET")
    assert (raised.value.code, raised.value.retryable) == (code, retryable) and "1,000 bytes" in raised.value.message


async def test_an_accepted_request_whose_answer_is_damaged_is_not_sent_again() -> None:
    """A 2xx answer says the destination took the request: its body, gzip cut short, cannot be
    read, and the delivery fails without a retry, which would repeat it."""
    damaged = gzip.compress(b'{"ok": true}')[:-6]

    with LoopbackServer(lambda request: Reply(200, damaged, {"Content-Encoding": "gzip"})) as server:
        hook = {"name": "hook", "type": "webhook", "settings": {"url": f"{server.url}/in"}, "retry": {"max_attempts": 3}}
        async with Runtime({"destinations": [hook]}) as runtime:
            (outcome,) = await runtime.deliver(make_event("track"))
    assert len(server.requests) == 1 and outcome.error is not None
    assert (outcome.status, outcome.error.code, outcome.error.retryable) == (Status.FAILED, "ANSWER_UNREADABLE", False)
    assert "gzip body is damaged" in outcome.error.message and "answered 200" in outcome.error.message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_a_connection_error_not_a_timeout() -> None:
    async with Transport() as transport:
        with pytest.raises(DeliveryError) as raised:
            await exchange(transport, f"http://127.0.0.1:{closed_port()}", method="GET")
    assert (raised.value.code, raised.value.retryable) == ("CONNECTION_ERROR", True)


async def test_an_answer_that_does_not_come_in_time_is_a_timeout() -> None:
    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(2)
        return Reply(200, {})

    with LoopbackServer(slow) as server:
        async with Transport() as transport:
            with pytest.raises(DeliveryError) as raised:
                await exchange(transport, server.url, method="GET", timeout=0.3)
    assert (raised.value.code, raised.value.retryable) == ("TIMEOUT", True)


@pytest.mark.parametrize(
    "value",
    [{"n": 19.99, "big": 10**20, "tiny": 5e-324, "e": 1e16}, ['é\u2028"<>&', True, None], {"nested": {"list": [1, 2.5]}}],
)
def test_json_bodies_mean_what_the_standard_library_encodes(value: Any) -> None:
    assert json.loads(_encode_json(value)) == json.loads(json.dumps(value, allow_nan=False))


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"x": -math.inf}])
def test_json_bodies_refuse_numbers_json_cannot_hold(bad: Any) -> None:
    with pytest.raises(ValueError):
        _encode_json(bad)


def test_json_text_that_mentions_nan_is_still_sent() -> None:
    assert json.loads(_encode_json({"note": "NaN and Infinity are words"})) == {"note": "NaN and Infinity are words"}


def test_headers_from_raw_pairs_are_httpxs_own() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-Empty", b"")]
    fast, own = headers_from_raw(raw), httpx.Headers(raw)
    assert fast == own and fast.raw == own.raw and fast.get_list("set-cookie") == ["a=1", "b=2"]
