"""A plain function as an ASGI application: it gets a :class:`RecordedRequest`, returns a :class:`Reply`.

This is how tests and sandboxes write a server without a framework::

    def answer(request: RecordedRequest) -> Reply:
        return Reply(200, {"seen": request.json()})

    app = HandlerApp(answer)   # serve it with LoopbackServer, or in-process with httpx.ASGITransport

The body is read whole before the handler runs, bounded by ``max_body`` (413 past it). The
handler may return an awaitable of a reply, to simulate latency. Requests are recorded in
arrival order in ``requests`` unless ``record`` is false.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.types import Receive, Scope, Send

from ..bodies import BodyTooLarge, ClientGone, read_body

__all__ = ["RecordedRequest", "Reply", "Handler", "HandlerApp", "DEFAULT_MAX_BODY"]

#: the most a handler's request body may hold unless the app says otherwise
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it. Header names are lower-case; ``target`` is as sent (path and query)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The decoded query string; a name may repeat, so each maps to a list."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class Reply:
    """What the server answers: a dict or list body is sent as JSON, a str as UTF-8 text."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, send: Send) -> None:
        """Send this reply through an ASGI ``send``."""
        body = self.body
        names = {name.lower() for name in self.headers}
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            if "content-type" not in names:
                headers.append((b"content-type", b"application/json"))
        elif isinstance(body, str):
            body = body.encode()
            if "content-type" not in names:
                headers.append((b"content-type", b"text/plain; charset=utf-8"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


Handler = Callable[[RecordedRequest], "Reply | Awaitable[Reply]"]


def ok(_: RecordedRequest) -> Reply:
    """The default handler: 200 with ``{}``."""
    return Reply(200, b"{}", {"Content-Type": "application/json"})


class HandlerApp:
    """The ASGI application that serves ``handler``."""

    def __init__(self, handler: Handler = ok, *, record: bool = True, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.handler = handler
        self.record = record
        self.max_body = max_body
        self.requests: list[RecordedRequest] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets: nothing to do
            return
        try:
            body = await read_body(scope, receive, self.max_body)
        except BodyTooLarge as exc:
            await Reply(413, {"status": 413, "message": str(exc)}, {"Connection": "close"}).send(send)
            return
        except ClientGone:
            return
        request = RecordedRequest(scope["method"], _target(scope), _headers(scope), body)
        if self.record:
            self.requests.append(request)
        reply = self.handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        await reply.send(send)


def _target(scope: Scope) -> str:
    # The path as the client sent it (still percent-encoded), so handlers see exactly what came.
    raw: bytes | None = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
