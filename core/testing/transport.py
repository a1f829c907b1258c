"""Answering requests in tests: a recording mock transport and JSON replies."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

__all__ = ["ResponseHandler", "RecordingTransport", "json_reply"]

#: Answers one request, at once or after awaiting (to hold a request back, or to share state
#: with other coroutines): ``def`` and ``async def`` handlers are both welcome.
ResponseHandler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def json_reply(status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """An ``httpx.Response`` with a JSON body, for mock handlers."""
    return httpx.Response(status, json={} if body is None else body, headers=dict(headers or {}))


class RecordingTransport(httpx.AsyncBaseTransport):
    """A mock transport: ``handler`` answers each request (200 ``{}`` without one), and every
    request it answered is kept in ``requests``, in order, its body read."""

    def __init__(self, handler: ResponseHandler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        if self.handler is None:
            return json_reply()
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer
