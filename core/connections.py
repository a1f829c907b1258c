"""The HTTP server ``destkit serve`` runs: uvicorn with the limits and timeouts of ``serve:``.

uvicorn limits connections (``limit_concurrency``: past it, requests are answered 503), the
listen backlog, and how long an idle connection is kept after a response
(``timeout_keep_alive``). It has no deadline for a request's headers, so a client that opens
a connection and sends nothing, or trickles its headers, would hold a file descriptor for
ever; :func:`guarded_protocol` adds one (``header_timeout``) to uvicorn's h11 protocol, which
serve then always uses. The body has its own deadline,
kept by the one body reader (``body_timeout``, :func:`~destkit.bodies.read_body`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .config import ServeOptions
from .logs import RepeatFilter

__all__ = ["server_config", "guarded_protocol", "quiet_asyncio"]


def server_config(app: Any, options: ServeOptions, *, grace: float) -> uvicorn.Config:
    """uvicorn's config for ``app`` with the limits of ``options`` (the ``serve:`` block)."""
    # uvicorn's own logging setup and access log are off: destkit's (--log-format) stand in.
    return uvicorn.Config(
        app,
        log_config=None,
        log_level=None,
        access_log=False,
        http=guarded_protocol(options.header_timeout),
        limit_concurrency=options.limit_concurrency,
        backlog=options.backlog,
        timeout_keep_alive=max(1, round(options.timeout_keep_alive)),
        timeout_graceful_shutdown=max(1, round(grace)),
    )


def guarded_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, closing a connection whose next request's headers have not all
    arrived ``header_timeout`` seconds after it opened or after its last response."""

    class Guarded(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            waiting_after = self.cycle  # a request whose headers arrive makes a new cycle
            self._deadline = self.loop.call_later(header_timeout, self._expire, waiting_after)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self, waiting_after: Any) -> None:
            self._deadline = None
            idle = self.cycle is None or self.cycle.response_complete
            if self.cycle is waiting_after and idle and not self.transport.is_closing():
                self.transport.close()

    return Guarded


class _FirstLine(logging.Filter):
    """Makes a record's kind its first line: asyncio's reports differ only below it (a handle, a due time)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.repeat_key = (record.name, record.levelno, str(record.msg).partition("\n")[0])
        return True


def quiet_asyncio() -> None:
    """Let each kind of asyncio's error reports through once per interval (out of file
    descriptors, it reports every failed accept, thousands a second)."""
    logger = logging.getLogger("asyncio")
    logger.addFilter(_FirstLine())
    logger.addFilter(RepeatFilter())
