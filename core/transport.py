"""The runtime's HTTP transport: httpx requests and responses, carried by aiohttp.

Plugins see httpx (``httpx.Request``, ``httpx.Response``); the bytes travel over aiohttp's
connection pool, the quickest asyncio client measured here. Between the two this transport does
as little as it can (``benchmarks/delivery.py`` compares it with httpx's own transport and the
httpx-aiohttp adapter):

- the answer is read whole at once, up to ``max_answer_bytes`` (past it, the request fails:
  an answer is never buffered unbounded), and handed to httpx already in memory, instead of
  being streamed through two layers of iterators;
- the request's headers and body go as httpx prepared them, its URL unparsed again;
- bodies stay as sent: httpx decodes gzip and the rest when the plugin reads them;
- aiohttp's errors become httpx's (a refused connection is a ``ConnectError``, a slow answer a
  ``ReadTimeout``), which the requester turns into ``CONNECTION_ERROR`` or ``TIMEOUT``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from yarl import URL

from .wire import headers_from_raw

__all__ = ["AiohttpTransport", "MAX_ANSWER_BYTES"]

#: The largest answer read, in bytes (a destination's API answers in kilobytes).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_SKIPPED = frozenset({b"content-length", b"transfer-encoding"})  # aiohttp writes its own framing


class AnswerTooLarge(httpx.TransportError):
    """The answer is larger than the transport reads."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int = 100, max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.max_connections = max_connections
        self.max_answer_bytes = max_answer_bytes
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # a destination's cookies are not kept between events
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout") or {}
        key = (given.get("connect"), given.get("read"), given.get("write"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            # aiohttp counts the wait for a pooled connection in ``connect``; httpx calls it ``pool``.
            waits = [value for value in (key[0], key[3]) if value is not None]
            timeout = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=max(waits) if waits else None)
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in _SKIPPED
        ]
        try:
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=request.content or None,
                timeout=self._timeout(request),
                allow_redirects=False,
                compress=None,
            ) as answer:
                body = await self._read(answer)
                return httpx.Response(
                    answer.status,
                    headers=headers_from_raw(answer.raw_headers),
                    stream=httpx.ByteStream(body),
                    request=request,
                    extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode("latin-1")},
                )
        except httpx.TransportError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise _timeout_error(exc, request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(f"cannot connect: {exc.os_error.strerror or exc}", request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(f"the answer broke off: {exc}", request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise httpx.ReadError(f"the connection closed: {exc}", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, answer: aiohttp.ClientResponse) -> bytes:
        """The whole answer, refused past ``max_answer_bytes`` before more of it is buffered."""
        length = answer.content_length
        if length is not None:
            if length > self.max_answer_bytes:
                raise AnswerTooLarge(f"the answer is {length:,} bytes; at most {self.max_answer_bytes:,} bytes are read")
            return await answer.read()  # its declared length: read in one go
        chunks, size = [], 0
        while chunk := await answer.content.readany():
            size += len(chunk)
            if size > self.max_answer_bytes:
                raise AnswerTooLarge(f"the answer is over {self.max_answer_bytes:,} bytes, the most that is read")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeout_error(exc: BaseException, request: httpx.Request) -> httpx.TimeoutException:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout("no connection in time", request=request)
    return httpx.ReadTimeout("no answer in time", request=request)
