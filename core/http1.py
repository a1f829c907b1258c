"""One HTTP/1.1 connection: a request written whole, its answer read whole, then the next.

A destination's answers are small and a delivery cannot go on before its answer is in, so an
answer is gathered in memory as it arrives and handed over complete: status, reason, raw
header pairs and body. Answers are parsed by llhttp (the parser Node.js uses, through
``httptools``), and bounded before they are buffered: the head by ``max_head_bytes`` and
``max_header_count``, the body by ``max_body_bytes``, the whole exchange by a deadline.

Failures are httpx's exceptions (``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``),
with the connection closed: a connection is reused only after an answer that was read whole
and allows it (HTTP/1.1 keep-alive, no ``Connection: close``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httptools
import httpx

from .errors import UnreadableAnswer

__all__ = ["Answer", "AnswerLimits", "AnswerTooLarge", "Connection"]


class AnswerTooLarge(UnreadableAnswer):
    """The answer is larger than what is read (its head or its body)."""


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """What one answer may hold before the exchange fails (and its connection is closed)."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_head_bytes: int = 64 * 1024
    max_header_count: int = 200


@dataclass(slots=True)
class Answer:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Connection(asyncio.Protocol):
    """A client connection to one origin; :meth:`exchange` sends one request and reads its answer."""

    def __init__(self, limits: AnswerLimits) -> None:
        self.limits = limits
        self.closed = False
        self.idle_since = time.monotonic()
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._request: httpx.Request | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self._reusable = False
        self._reset_answer()

    def _reset_answer(self) -> None:
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._framed = False  # a Content-Length or chunked body: its end is known without the close
        self._headers_done = False
        self._head_fed = 0  # bytes fed to the parser while the head was not complete

    # --- the exchange -------------------------------------------------------------------------

    async def exchange(self, request: httpx.Request, head: bytes, body: bytes, within: float | None) -> Answer:
        """Write ``head`` and ``body``; the answer, read whole within ``within`` seconds.

        After it returns, :attr:`reusable` says whether another request may follow on this
        connection. When it raises, the connection is closed.
        """
        transport = self._transport
        if transport is None or self.closed:
            raise httpx.ReadError("the connection closed before the request was sent", request=request)
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._request = request
        if self._parser is None:  # one parser per connection; a new one only after a HEAD answer
            self._parser = httptools.HttpResponseParser(self)
        self._head_only = request.method == "HEAD"
        self._reusable = False
        self._reset_answer()
        if len(body) < 65536:
            transport.write(head + body)
        else:
            transport.writelines((head, body))
        timer = loop.call_later(within, self._timed_out) if within is not None else None
        try:
            answer: Answer = await waiter
            return answer
        except BaseException:
            self.close()  # cancelled or failed midway: what is left on the wire belongs to no one
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = self._request = None

    @property
    def reusable(self) -> bool:
        """Whether the last answer was read whole and leaves the connection open for another request."""
        return self._reusable and not self.closed

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _finish(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        parser = self._parser
        self._reusable = parser is not None and parser.should_keep_alive()
        if self._head_only:  # llhttp would wait for the body a HEAD answer announces but never sends
            self._parser = None
        self.idle_since = time.monotonic()
        waiter.set_result(Answer(parser.get_status_code() if parser else 0, self._reason, self._headers, b"".join(self._body)))

    def _fail(self, error: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def _timed_out(self) -> None:
        self._fail(httpx.ReadTimeout("no answer in time", request=self._request))

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if self._waiter is None or parser is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        try:
            parser.feed_data(data)
            if not self._headers_done:
                # llhttp keeps an unfinished header line to itself until its end comes, where
                # on_header cannot count it: what was fed is bounded instead.
                self._head_fed += len(data)
                if self._head_fed > self.limits.max_head_bytes:
                    self._fail(self._head_too_large())
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols", request=self._request))
        except httptools.HttpParserError as exc:
            crossed = exc.__context__  # a callback below refused the answer: a bound was crossed
            if isinstance(crossed, httpx.TransportError):
                self._fail(crossed)
            else:
                self._fail(httpx.RemoteProtocolError(f"the answer is not valid HTTP/1.1: {exc}", request=self._request))

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and not self._framed and not self._head_only:
            self._finish()  # an answer without length or chunks ends when the connection does
            self._reusable = False
            return
        reason = f": {exc}" if exc else ""
        if self._headers_done or self._head_bytes:
            self._fail(httpx.RemoteProtocolError(f"the answer broke off{reason}", request=self._request))
        else:
            self._fail(httpx.ReadError(f"the connection closed before an answer{reason}", request=self._request))

    # --- llhttp's callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():  # a second answer to one request: the connection is not to be trusted
            self.close()
            return
        self._reset_answer()

    def on_status(self, reason: bytes) -> None:
        self._reason += reason
        self._count_head(len(reason))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        if len(self._headers) >= self.limits.max_header_count:
            raise AnswerTooLarge(f"the answer has over {self.limits.max_header_count} headers", request=self._request)
        self._headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._head_only and self._parser is not None and self._parser.get_status_code() >= 200:
            self._finish()

    def on_body(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)
        if self._body_bytes > self.limits.max_body_bytes:
            limit = self.limits.max_body_bytes
            status = self._parser.get_status_code() if self._parser is not None else 0
            raise AnswerTooLarge(
                f"the answer is over {limit:,} bytes, the most that is read", request=self._request, status=status
            )
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        parser = self._parser
        if parser is not None and 100 <= parser.get_status_code() < 200:
            return  # an interim answer (103 Early Hints...): the final one follows on the same parser
        self._framed = True
        self._finish()

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_head_bytes:
            raise self._head_too_large()

    def _head_too_large(self) -> AnswerTooLarge:
        return AnswerTooLarge(f"the answer's head is over {self.limits.max_head_bytes:,} bytes", request=self._request)
