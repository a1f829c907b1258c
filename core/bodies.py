"""Reading an HTTP request body over ASGI, bounded before it is buffered.

One reader for every server of the project's own (the service, the sandboxes, the test
server): a declared ``Content-Length`` over the limit is refused before a byte is read, and a
body sent without one (chunked) is refused as soon as it grows past the limit, so a client can
never make a server hold more than ``limit`` bytes of its body. With a ``timeout``, a body
that takes longer to arrive (a client trickling bytes to hold a connection) is refused too.

A compressed body, a request's or a destination's answer, is unpacked by :func:`unpacked`,
which stops one byte past the limit: a few kilobytes of gzip can unpack to gigabytes.
"""

from __future__ import annotations

import asyncio
import zlib

from starlette.types import Receive, Scope

__all__ = ["BodyTooLarge", "BodyTooSlow", "ClientGone", "PACKED", "declared_length", "read_body", "unpacked"]

#: zlib's window bits for each content coding :func:`unpacked` reads.
_WINDOW = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
#: The content codings :func:`unpacked` reads.
PACKED = frozenset(_WINDOW)


class BodyTooLarge(Exception):
    """The body is (or says it is) longer than the limit; answer 413."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        said = f" (Content-Length {declared})" if declared is not None else ""
        super().__init__(f"request body is over the {limit}-byte limit{said}")
        self.limit = limit


class BodyTooSlow(Exception):
    """The body did not arrive within the time allowed; answer 408."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"request body did not arrive within {timeout:g} seconds")
        self.timeout = timeout


class ClientGone(Exception):
    """The client disconnected before the body was complete; there is no one to answer."""


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, if it sent one (the HTTP server has checked it is a number)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:  # servers refuse these first; this keeps the reader total anyway
                return None
    return None


async def read_body(scope: Scope, receive: Receive, limit: int, *, timeout: float | None = None) -> bytes:
    """The whole body of the request, at most ``limit`` bytes (else :class:`BodyTooLarge`),
    arrived within ``timeout`` seconds when one is given (else :class:`BodyTooSlow`)."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit, declared)
    try:
        async with asyncio.timeout(timeout):
            return await _read(receive, limit)
    except TimeoutError:
        raise BodyTooSlow(timeout or 0.0) from None


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def unpacked(body: bytes, coding: str, limit: int) -> bytes:
    """``body`` unpacked from ``coding`` (one of :data:`PACKED`: gzip, its members one after
    another; deflate, with its zlib wrapper or without, as some servers send it), at most
    ``limit + 1`` bytes of it: a result longer than ``limit`` means the whole is over it. A
    damaged or cut-short body raises ``zlib.error``."""
    if coding != "deflate":
        return _inflated(body, _WINDOW[coding], limit)
    try:
        return _inflated(body, zlib.MAX_WBITS, limit)
    except zlib.error:
        return _inflated(body, -zlib.MAX_WBITS, limit)


def _inflated(body: bytes, window: int, limit: int) -> bytes:
    out = bytearray()
    rest = body
    while rest and len(out) <= limit:
        unpacker = zlib.decompressobj(window)
        out += unpacker.decompress(rest, limit + 1 - len(out))  # never 0, which would mean no bound
        if not unpacker.eof:
            if unpacker.unconsumed_tail:
                break  # stopped at the bound: over the limit
            raise zlib.error("the data ends before its end marker")
        rest = unpacker.unused_data  # another gzip member may follow
    return bytes(out)
