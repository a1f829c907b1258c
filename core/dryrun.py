"""Dry runs: every request an action makes is printed (secrets masked) instead of sent.

Known secrets are masked as everywhere; headers that carry credentials by their name
(``Authorization``, ``Cookie``, ``X-Api-Key``...) are masked whatever set them.

Each request gets the answer the destination declares for dry runs
(``Destination.dry_run_answer``), or ``200 {}``, so an action that reads its answers can go
on to show the requests that would follow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

import httpx

from .redaction import Redactor, mask_header

__all__ = ["DryRunTransport", "describe_request"]

_QUIET_HEADERS = {b"host", b"user-agent", b"content-length", b"accept", b"accept-encoding", b"connection"}


def describe_request(request: httpx.Request, redact: Redactor) -> str:
    parts = [f"{request.method} {request.url}"]
    headers = [
        f"{name.decode()}: {mask_header(name.decode(), value.decode())}"
        for name, value in request.headers.raw
        if name.lower() not in _QUIET_HEADERS
    ]
    if headers:
        parts.append("[" + "; ".join(headers) + "]")
    if request.content:
        body = request.content.decode("utf-8", errors="replace")
        parts.append("body=" + (body if len(body) <= 4096 else body[:4096] + f"...({len(body):,} bytes)"))
    return redact("  ".join(parts))


class DryRunTransport(httpx.AsyncBaseTransport):
    def __init__(self, out: TextIO, redact: Redactor, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.out = out
        self.redact = redact
        self.answer = answer
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.out.write(describe_request(request, self.redact) + "\n")
        if self.answer is not None:
            return self.answer(request)
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))
