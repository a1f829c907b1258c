"""The transport's HTTP/1.1 connections against servers that answer byte by byte as a test says:
reuse, framing, interim answers, broken and oversized answers, pool limits, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destkit.errors import DeliveryError
from destkit.http import RequestDefaults, Requester
from destkit.http1 import AnswerLimits, AnswerTooLarge, Connection
from destkit.transport import Transport

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A server on 127.0.0.1 whose connections are handled by ``handler``; counts connections
    and keeps every request head it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.heads: list[bytes] = []
        self.url = ""

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One request: its head (kept) and body; b"" when the client closed instead."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return b""
        self.heads.append(head)
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        return head + await reader.readexactly(length)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@contextlib.asynccontextmanager
async def raw_server(
    handler: Callable[[RawServer, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]], tls: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    server = RawServer(lambda reader, writer: handler(server, reader, writer))
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
    async with listening:
        yield server
        listening.close()


def answering(
    *answers: bytes, then_close: bool = False
) -> Callable[[RawServer, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A handler that reads a request and writes the next of ``answers``, for each request."""

    async def handle(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader):
            writer.write(answers[min(len(server.heads), len(answers)) - 1])
            await writer.drain()
            if then_close:
                return

    return handle


async def fetch(transport: Transport, url: str, method: str = "GET", **options: Any) -> httpx.Response:
    requester = Requester(transport, RequestDefaults(base_url=url), timeout=options.pop("timeout", 5.0))
    return await requester.request(method, "/in", raise_for_status=False, **options)


async def test_connections_are_reused_while_answers_allow_it() -> None:
    async with raw_server(answering(OK)) as server, Transport() as transport:
        answers = [await fetch(transport, server.url) for _ in range(3)]
    assert [answer.text for answer in answers] == ["ok"] * 3 and server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["Connection: close", "HTTP/1.0"],
)
async def test_an_answer_that_ends_its_connection_is_not_followed_by_another_request_on_it(answer: bytes) -> None:
    async with raw_server(answering(answer, then_close=True)) as server, Transport() as transport:
        answers = [await fetch(transport, server.url) for _ in range(2)]
    assert [answer.text for answer in answers] == ["ok", "ok"] and server.connections == 2


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde"),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", ""),
    ],
    ids=["chunked", "an interim answer first", "no content"],
)
async def test_answers_are_read_by_their_framing_and_the_connection_kept(answer: bytes, body: str) -> None:
    async with raw_server(answering(answer, OK)) as server, Transport() as transport:
        first, second = await fetch(transport, server.url), await fetch(transport, server.url)
    assert (first.text, second.text, server.connections) == (body, "ok", 1)


async def test_a_connection_that_answered_more_than_was_asked_is_not_used_again() -> None:
    async with raw_server(answering(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nzz")) as server, Transport() as transport:
        answers = [await fetch(transport, server.url) for _ in range(2)]
    assert [answer.text for answer in answers] == ["ok", "ok"] and server.connections == 2


async def test_an_answer_without_length_ends_with_its_connection() -> None:
    until_closed = answering(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", then_close=True)
    async with raw_server(until_closed) as server, Transport() as transport:
        answer = await fetch(transport, server.url)
    assert answer.text == "until the end"


async def test_a_head_answer_announcing_a_body_is_complete_without_one() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    async with raw_server(answering(head, OK)) as server, Transport() as transport:
        first = await fetch(transport, server.url, method="HEAD")
        second = await fetch(transport, server.url)
    assert (first.status_code, first.content, second.text, server.connections) == (200, b"", "ok", 1)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"", "closed before an answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part", "broke off"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "broke off"),
        (b"SMTP ready\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n", "head is over 65,536 bytes"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 201 + b"\r\n", "over 200 headers"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", "switched protocols"),
    ],
    ids=["closed", "short body", "short chunks", "not HTTP", "huge head", "too many headers", "upgrade"],
)
async def test_a_broken_or_oversized_answer_is_a_retryable_connection_error(answer: bytes, said: str) -> None:
    async with raw_server(answering(answer, then_close=True)) as server, Transport() as transport:
        with pytest.raises(DeliveryError) as raised:
            await fetch(transport, server.url)
    assert (raised.value.code, raised.value.retryable) == ("CONNECTION_ERROR", True)
    assert said in raised.value.message


async def test_the_pool_recovers_after_a_broken_answer() -> None:
    short_then_whole = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", OK, then_close=True)
    async with raw_server(short_then_whole) as server, Transport(max_connections=1) as transport:
        with pytest.raises(DeliveryError):
            await fetch(transport, server.url)
        answer = await fetch(transport, server.url)
    assert (answer.text, server.connections) == ("ok", 2)


async def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    async with raw_server(answering(OK, then_close=True)) as server, Transport() as transport:
        first = await fetch(transport, server.url)
        await asyncio.sleep(0.05)  # the server's close reaches the idle connection
        second = await fetch(transport, server.url)
    assert (first.text, second.text, server.connections) == ("ok", "ok", 2)


async def test_idle_connections_expire() -> None:
    async with raw_server(answering(OK)) as server, Transport(keepalive_expiry=0) as transport:
        for _ in range(2):
            await fetch(transport, server.url)
    assert server.connections == 2


async def test_the_request_goes_as_one_well_framed_message() -> None:
    async with raw_server(answering(OK)) as server, Transport() as transport:
        await fetch(transport, server.url, method="POST", json={"a": 1}, headers={"Transfer-Encoding": "chunked", "X-Id": "7"})
        await fetch(transport, server.url, method="POST")
    first, second = (head.decode().split("\r\n") for head in server.heads)
    assert first[0] == "POST /in HTTP/1.1" and first[1].startswith("Host: 127.0.0.1:")
    assert "Content-Length: 7" in first and "X-Id: 7" in first
    assert not any(line.lower().startswith("transfer-encoding") for line in first)
    assert "Content-Length: 0" in second


@pytest.mark.parametrize(
    "headers",
    [{"X-Id": "a\r\nX-Injected: 1"}, {"X-Id": "a\nb"}, {"X-Id": "nul\x00"}, {"Bad Name": "1"}, {"X-Id:": "1"}],
    ids=["CRLF in a value", "LF in a value", "NUL in a value", "space in a name", "colon in a name"],
)
async def test_a_header_that_would_split_the_request_is_refused_before_sending(headers: dict[str, str]) -> None:
    async with raw_server(answering(OK)) as server, Transport() as transport:
        with pytest.raises(DeliveryError) as raised:
            await fetch(transport, server.url, headers=headers)
    assert (raised.value.code, raised.value.retryable, server.heads) == ("PAYLOAD_VALIDATION_FAILED", False, [])


async def test_requests_past_the_pool_size_wait_their_turn() -> None:
    async def slow(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader):
            await asyncio.sleep(0.05)
            writer.write(OK)

    async with raw_server(slow) as server, Transport(max_connections=2) as transport:
        answers = await asyncio.gather(*(fetch(transport, server.url) for _ in range(6)))
    assert [answer.text for answer in answers] == ["ok"] * 6 and server.most_open == 2


async def test_a_request_that_finds_no_free_connection_in_time_times_out() -> None:
    async def silent(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as server, Transport(max_connections=1) as transport:
        waiting = [asyncio.ensure_future(fetch(transport, server.url, timeout=0.3)) for _ in range(2)]
        results = await asyncio.gather(*waiting, return_exceptions=True)
    assert [getattr(result, "code", None) for result in results] == ["TIMEOUT", "TIMEOUT"]


async def test_a_cancelled_request_leaves_the_pool_usable() -> None:
    async def late(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader):
            await asyncio.sleep(0.2 if len(server.heads) == 1 else 0)
            writer.write(OK)

    async with raw_server(late) as server, Transport(max_connections=1) as transport:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await fetch(transport, server.url)
        answer = await fetch(transport, server.url)
    assert (answer.text, server.connections) == ("ok", 2)  # the first answer, late, reaches no one


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def server_tls(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    return context


async def test_https_is_spoken_with_a_trusted_certificate(authority: trustme.CA) -> None:
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    tls = server_tls(authority)
    async with raw_server(answering(OK), tls=tls) as server, Transport(ssl_context=trusting) as transport:
        answer = await fetch(transport, server.url)
    assert answer.text == "ok" and server.url.startswith("https://")


async def test_https_with_an_untrusted_certificate_is_a_connection_error(authority: trustme.CA) -> None:
    async with raw_server(answering(OK), tls=server_tls(authority)) as server, Transport() as transport:
        with pytest.raises(DeliveryError) as raised:
            await fetch(transport, server.url)
    assert raised.value.code == "CONNECTION_ERROR" and "TLS" in raised.value.message and server.heads == []


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(
                [
                    b"HTTP/1.1 200 OK\r\n",
                    b"Content-Length: 3\r\n",
                    b"Transfer-Encoding: chunked\r\n",
                    b"\r\n",
                    b"0\r\n",
                    b"HTTP/1.1 100 Continue\r\n\r\n",
                ]
            ),
        ),
        max_size=8,
    )
)
def test_any_answer_bytes_end_as_an_answer_or_a_transport_error(pieces: list[bytes]) -> None:
    async def scenario() -> None:
        async def handle(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            for piece in pieces:
                writer.write(piece)
                await writer.drain()

        async with raw_server(handle) as server, Transport() as transport:
            request = httpx.Request("GET", f"{server.url}/in", extensions={"timeout": {"read": 0.5}})
            try:
                response = await transport.handle_async_request(request)
            except httpx.TransportError:
                return
            assert 100 <= response.status_code <= 999

    asyncio.run(scenario())


async def test_an_answer_is_awaited_for_a_bounded_time_even_when_the_request_names_none() -> None:
    async def silent(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as server, Transport(default_timeout=0.2) as transport:
        with pytest.raises(httpx.ReadTimeout):
            async with asyncio.timeout(5):
                await transport.handle_async_request(httpx.Request("GET", f"{server.url}/in"))


async def _connected(server: RawServer, limits: AnswerLimits) -> Connection:
    host, port = server.url.removeprefix("http://").split(":")
    _, connection = await asyncio.get_running_loop().create_connection(lambda: Connection(limits), host, int(port))
    return connection


async def test_one_connection_reads_each_answer_whole_and_is_reused_after_it() -> None:
    async with raw_server(answering(OK, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-A: 1\r\n\r\ndone")) as server:
        connection = await _connected(server, AnswerLimits())
        request = httpx.Request("POST", server.url)
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"
        first = await connection.exchange(request, head, b"{}", within=5)
        assert (first.status, first.body, connection.reusable) == (200, b"ok", True)
        second = await connection.exchange(request, head, b"{}", within=5)
        assert (second.status, second.reason, second.headers[-1], second.body) == (201, b"Created", (b"X-A", b"1"), b"done")
        connection.close()
    assert server.connections == 1


async def test_one_connection_refuses_a_header_line_that_never_ends_once_it_passes_the_head_limit() -> None:
    # llhttp holds an unfinished header line itself: the bound must hold before the line ends.
    async def endless(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
        for _ in range(64):
            writer.write(b"a" * 16384)
            await writer.drain()
        await asyncio.sleep(30)

    async with raw_server(endless) as server:
        connection = await _connected(server, AnswerLimits(max_head_bytes=65536))
        head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        started = asyncio.get_running_loop().time()
        with pytest.raises(AnswerTooLarge, match="head is over 65,536 bytes"):
            await connection.exchange(httpx.Request("GET", server.url), head, b"", within=20)
        assert asyncio.get_running_loop().time() - started < 10 and connection.closed


async def test_one_connection_refuses_an_answer_with_more_headers_than_its_limit_and_closes() -> None:
    many = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(5)) + b"Content-Length: 2\r\n\r\nok"
    async with raw_server(answering(many)) as server:
        connection = await _connected(server, AnswerLimits(max_header_count=3))
        head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        with pytest.raises(AnswerTooLarge):
            await connection.exchange(httpx.Request("GET", server.url), head, b"", within=5)
        assert connection.closed and not connection.reusable
