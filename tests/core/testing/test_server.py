"""The loopback server: uvicorn underneath, so broken or unusual HTTP gets a proper answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.testing import LoopbackServer, RecordedRequest, Reply
from destkit.testing.server import _listen
from tests.rawhttp import exchange


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
    ],
)
def test_a_broken_request_is_answered_not_raised(raw: bytes, status: bytes) -> None:
    with LoopbackServer() as server:
        answer = exchange(server.url, raw)
        assert answer.startswith(b"HTTP/1.1 " + status), answer
        assert exchange(server.url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200")  # still serving


def test_expect_100_continue_gets_a_continue_then_the_answer() -> None:
    with LoopbackServer(lambda request: Reply(201, {"got": len(request.body)})) as server:
        head = b"POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n"
        answer = exchange(server.url, head, b"x" * 2048, pause=0.5)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ")
    assert answer.endswith(b'{"got": 2048}')
    assert server.requests[0].body == b"x" * 2048


@pytest.mark.parametrize(
    "raw",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n",  # refused on what it declares, unread
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"y" * 1000 + b"\r\n2\r\nzz\r\n0\r\n\r\n",
    ],
)
def test_a_body_over_the_limit_is_refused_with_413(raw: bytes) -> None:
    with LoopbackServer(max_body=1000) as server:
        answer = exchange(server.url, raw)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"over the 1000-byte limit" in answer
    assert server.requests == []


def test_the_target_is_recorded_as_sent_percent_encoding_and_all() -> None:
    with LoopbackServer() as server:
        exchange(server.url, b"GET /a%2Fb/%2E%2E?x=1&y=%26 HTTP/1.1\r\nHost: x\r\n\r\n")
    (request,) = server.requests
    assert (request.target, request.path, request.query) == ("/a%2Fb/%2E%2E?x=1&y=%26", "/a%2Fb/%2E%2E", {"x": ["1"], "y": ["&"]})


def starlette_app() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"name": request.path_params["name"], "started": request.app.state.started})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.started = True
        yield

    return Starlette(routes=[Route("/hello/{name}", echo)], lifespan=lifespan)


def test_any_asgi_app_is_served_with_its_lifespan() -> None:
    with LoopbackServer(app=starlette_app()) as server:
        answer = httpx.get(f"{server.url}/hello/ada")
    assert answer.json() == {"name": "ada", "started": True}


async def test_the_handler_app_runs_in_process_through_asgi_transport() -> None:
    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(0.01)
        return Reply(202, f"{request.method} {request.target} {request.body.decode()}")

    server = LoopbackServer(slow)  # never started: no socket, no thread
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url="http://sandbox") as client:
        answer = await client.post("/in?a=1", content=b"hi")
    assert (answer.status_code, answer.text) == (202, "POST /in?a=1 hi")
    assert server.requests[0].headers["content-length"] == "2"


def test_an_app_whose_startup_fails_is_reported_by_start() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield  # type: ignore[unreachable]  # never reached: it makes this a generator, a lifespan

    with pytest.raises(RuntimeError, match="did not start"):
        LoopbackServer(app=Starlette(lifespan=broken)).start()


def test_a_port_in_use_is_an_error_of_start() -> None:
    with LoopbackServer() as first, pytest.raises(OSError):
        LoopbackServer(port=first.port).start()


async def test_accepted_connections_do_not_hold_small_answers_back() -> None:
    # With Nagle's algorithm on, each small answer waits for the client's delayed ACK (~40 ms).
    accepted: asyncio.Future[socket.socket] = asyncio.get_running_loop().create_future()

    class Accept(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket"))

    listener = _listen("127.0.0.1", 0)
    server = await asyncio.get_running_loop().create_server(Accept, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        sock = await accepted
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        writer.close()
