"""A real HTTP server on loopback, for integration tests, sandboxes, benchmarks and demos.

It serves on uvicorn, the HTTP stack ``destkit serve`` runs on, from a background thread with
its own event loop, so sync and async tests can use it alike::

    with LoopbackServer(lambda request: Reply(200, {"ok": True})) as server:
        ...  # point a destination at server.url
        assert server.requests[0].json() == {...}

The handler receives each :class:`RecordedRequest` and returns a :class:`Reply` (or an
awaitable of one, to simulate latency). Requests are recorded in arrival order. Any ASGI
application can be served instead (``LoopbackServer(app=starlette_app)``), and ``server.app``
can be used in-process through ``httpx.ASGITransport`` without a socket at all.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from .handler import DEFAULT_MAX_BODY, Handler, HandlerApp, RecordedRequest, Reply, ok

__all__ = ["LoopbackServer", "RecordedRequest", "Reply", "Handler", "HandlerApp", "serve_app"]


_Lifespan = Literal["auto", "on", "off"]


class _Server(uvicorn.Server):
    """uvicorn's server, told to stop by an event rather than polled every 0.1 s."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.stopping, self.loop = asyncio.Event(), asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        assert self.stopping is not None
        counter = 0
        while not await self.on_tick(counter):  # on_tick refreshes the Date header and reads should_exit
            counter += 10  # one tick a second, as uvicorn counts them
            try:
                await asyncio.wait_for(self.stopping.wait(), 1.0)
            except TimeoutError:
                continue
            self.should_exit = True


def _config(app: ASGIApp, *, lifespan: _Lifespan) -> uvicorn.Config:
    return uvicorn.Config(app, lifespan=lifespan, log_config=None, log_level="warning", access_log=False)


def _listen(host: str, port: int) -> socket.socket:
    # Made with an explicit TCP protocol number, which accepted sockets inherit: asyncio only
    # turns Nagle's algorithm off (TCP_NODELAY) on sockets that carry it, and with it on, every
    # small answer waited ~40 ms for the client's delayed ACK.
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_app(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, lifespan: _Lifespan = "auto") -> None:
    """Serve ``app`` with uvicorn in the current event loop until SIGINT or SIGTERM (a server in its own process)."""
    sock = _listen(host, port)
    await uvicorn.Server(_config(app, lifespan=lifespan)).serve(sockets=[sock])


class LoopbackServer:
    """Serve ``handler`` (or any ASGI ``app``) on ``host:port`` (port 0 picks a free one) from a background thread."""

    def __init__(
        self,
        handler: Handler = ok,
        *,
        app: ASGIApp | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.handler_app = HandlerApp(handler, record=record, max_body=max_body)
        self.app: ASGIApp = app if app is not None else self.handler_app
        self.host = host
        self.port = port
        self._lifespan: _Lifespan = "auto" if app is not None else "off"
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests the handler received, in arrival order (none when serving an ``app``)."""
        return self.handler_app.requests

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (an error to bind is raised here) and serve until :meth:`stop`."""
        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = self._server = _Server(_config(self.app, lifespan=self._lifespan))
        self._thread = threading.Thread(target=self._run, args=(server, sock), name="loopback-server", daemon=True)
        self._thread.start()
        while not server.ready.wait(0.05):
            if not self._thread.is_alive():
                sock.close()
                raise RuntimeError(f"the loopback server on {self.url} did not start") from self._error

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        if thread.is_alive() and server.loop is not None and server.stopping is not None:
            server.loop.call_soon_threadsafe(server.stopping.set)
        thread.join(10)

    def _run(self, server: _Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # uvicorn exits (SystemExit) when an app's startup fails
            self._error = exc
        finally:
            sock.close()

    async def serve_forever(self) -> None:
        """Serve in the current event loop until SIGINT or SIGTERM (for a server in its own process)."""
        await serve_app(self.app, host=self.host, port=self.port, lifespan=self._lifespan)
