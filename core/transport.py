"""The runtime's HTTP transport: httpx requests and responses over a pool of HTTP/1.1 connections.

Plugins see httpx (``httpx.Request``, ``httpx.Response``); the bytes travel over connections
kept here (:mod:`destkit.http1`), which is what a delivery needs and no more. Against a
bare aiohttp client, httpx's own transport and the httpx-aiohttp adapter it is the quickest
(``benchmarks/delivery.py``):

- the request goes as httpx prepared it: its head checked as well-formed HTTP/1.1 (no header
  name, value or URL can split it), then written in one piece with the body, with the body's
  length; never chunked;
- the answer is read whole, bounded (``max_answer_bytes`` for the body, 64 KB and 200 headers
  for the head), within the request's ``read`` timeout (``default_timeout`` when it names none)
  counted from the request being sent; bodies stay as sent and httpx decodes them when the
  plugin reads them, but a gzip or deflate body is first unpacked here within
  ``max_answer_bytes`` (a few kilobytes can unpack to gigabytes), and one in ``br`` or ``zstd``,
  which destkit never asks for and cannot bound, is refused;
- at most ``max_connections`` requests at once, across hosts; the others wait in turn, up to
  the ``pool`` timeout; idle connections are reused newest first, for ``keepalive_expiry``
  seconds;
- ``https`` URLs use the system's trust store (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are
  honoured), or the given ``ssl_context``; no proxy is used and redirects are not followed;
- failures are httpx's exceptions (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``,
  ``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``, ``LocalProtocolError``), which the
  requester turns into ``CONNECTION_ERROR``, ``TIMEOUT`` or an invalid payload.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
import zlib

import httpx

from .bodies import PACKED, unpacked
from .errors import UnreadableAnswer
from .http1 import Answer, AnswerLimits, AnswerTooLarge, Connection
from .slots import Slots
from .wire import headers_from_raw

__all__ = ["AnswerTooLarge", "MAX_ANSWER_BYTES", "Transport"]

#: The largest answer body read, in bytes (a destination's API answers in kilobytes).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FRAMING = (b"content-length", b"transfer-encoding")  # written here, from the body itself
#: A request head as RFC 9112 allows it: a method token, a target without spaces or controls,
#: then header fields whose names are tokens and whose values hold no control but tab.
_WELL_FORMED_HEAD = re.compile(
    rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e\x80-\xff]+ HTTP/1\.1\r\n"
    rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [\t\x20-\x7e\x80-\xff]*\r\n)*\r\n"
)

Origin = tuple[str, str, int]


class Transport(httpx.AsyncBaseTransport):
    """An httpx transport over pooled HTTP/1.1 connections (``async with`` closes them)."""

    def __init__(
        self,
        max_connections: int = 100,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        *,
        keepalive_expiry: float = 15.0,
        default_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.default_timeout = default_timeout
        self.limits = AnswerLimits(max_body_bytes=max_answer_bytes)
        self._ssl = ssl_context
        self._in_use = Slots(max_connections)
        self._idle: dict[Origin, list[Connection]] = {}
        self._open = 0  # in use and idle
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request)
        head, body = await _serialized(request)
        timeouts = request.extensions.get("timeout") or {}
        try:
            await self._in_use.take(timeouts.get("pool"))
        except TimeoutError:
            raise httpx.PoolTimeout("no connection came free in time", request=request) from None
        try:
            connection = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"), request)
            try:
                within = timeouts.get("read") or self.default_timeout  # an answer is never awaited unbounded
                answer = await connection.exchange(request, head, body, within)
            except BaseException:
                self._open -= 1  # the exchange closed it
                raise
            self._put_back(origin, connection)
        finally:
            self._in_use.release()
        return _response(answer, request, self.limits.max_body_bytes)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
                self._open -= 1
        self._idle.clear()

    # --- the pool -----------------------------------------------------------------------------

    def _idle_connection(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the newest: the least likely to have been closed by the server
            if not connection.closed and now - connection.idle_since < self.keepalive_expiry:
                return connection
            connection.close()
            self._open -= 1
        return None

    def _put_back(self, origin: Origin, connection: Connection) -> None:
        if connection.reusable and not self._closed:
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
            self._open -= 1

    def _make_room(self) -> None:
        """Close the oldest idle connection of another host while the pool is full of them."""
        while self._open >= self.max_connections:
            origin = next((origin for origin, idle in self._idle.items() if idle), None)
            if origin is None:
                return
            self._idle[origin].pop(0).close()
            self._open -= 1

    async def _connect(self, origin: Origin, within: float | None, request: httpx.Request) -> Connection:
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        self._make_room()
        loop = asyncio.get_running_loop()
        where = f"{host}:{port}"
        try:
            async with asyncio.timeout(within):
                _, connection = await loop.create_connection(
                    lambda: Connection(self.limits), host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {where} in time", request=request) from None
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"TLS with {where} failed: {exc.reason or exc}", request=request) from None
        except ssl.CertificateError as exc:
            raise httpx.ConnectError(f"TLS with {where} failed: {exc}", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {where}: {exc.strerror or exc}", request=request) from None
        self._open += 1
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl


def _origin(request: httpx.Request) -> Origin:
    url = request.url
    scheme = url.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(
            f"only http and https URLs can be requested, not {scheme or 'a relative URL'}", request=request
        )
    if not url.host:
        raise httpx.UnsupportedProtocol(f"the URL {url} names no host", request=request)
    return scheme, url.host, url.port or _DEFAULT_PORTS[scheme]


async def _serialized(request: httpx.Request) -> tuple[bytes, bytes]:
    """The request's head and body as they go on the wire; a ``LocalProtocolError`` for a head
    that could be read otherwise than it was meant (a line break in a value, a bad name)."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii", "replace"), request.url.raw_path)]
    lines.extend(name + b": " + value for name, value in request.headers.raw if name.lower() not in _FRAMING)
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"\r\n")
    head = b"\r\n".join(lines)
    if head.count(b"\n") != len(lines) or _WELL_FORMED_HEAD.fullmatch(head) is None:  # a line more, or a bad one
        raise httpx.LocalProtocolError(
            "the request cannot be sent: a header name or value, or the URL, is not allowed in HTTP/1.1 "
            "(a line break or control character in a value, a space or separator in a name)",
            request=request,
        )
    return head, body


_UNBOUNDED = (b"br", b"zstd")  # unpacked by httpx when optional packages are installed


def _check_unpacked(answer: Answer, limit: int, request: httpx.Request) -> None:
    """Refuse an answer whose body, unpacked as httpx will unpack it, is over ``limit`` bytes."""
    codings = [
        coding.strip().lower()
        for name, value in answer.headers
        if name.lower() == b"content-encoding"
        for coding in value.split(b",")
    ]
    body = answer.body
    for coding in reversed(codings):  # the last coding applied is the first undone
        if coding in _UNBOUNDED:
            raise UnreadableAnswer(
                f"the answer is in content coding {coding.decode()!r}, which destkit neither asks for nor reads",
                request=request,
                status=answer.status,
            )
        name = coding.decode("latin-1")
        if name not in PACKED:
            continue  # httpx leaves codings it does not know as they are
        try:
            body = unpacked(body, name, limit)
        except zlib.error as exc:
            raise UnreadableAnswer(
                f"the answer's {name} body is damaged ({exc})", request=request, status=answer.status
            ) from None
        if len(body) > limit:
            message = f"the answer unpacks to over {limit:,} bytes, the most that is read"
            raise AnswerTooLarge(message, request=request, status=answer.status)


def _response(answer: Answer, request: httpx.Request, limit: int) -> httpx.Response:
    if answer.body and any(name.lower() == b"content-encoding" for name, _ in answer.headers):
        _check_unpacked(answer, limit, request)
    return httpx.Response(
        answer.status,
        headers=headers_from_raw(answer.headers),
        stream=httpx.ByteStream(answer.body),
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
    )
