"""The benchmarks' webhook: answers every request 200 ``{}``, after an optional latency.

A destination under test must cost the machine as little as possible, or the benchmark
measures the server instead of the client: on two cores, an ASGI server answering in its own
process took as much CPU per request as the replay sending them. This one is an asyncio
protocol that frames HTTP/1.1 requests by their ``Content-Length`` (what the clients measured
here send) and writes a fixed answer: a few microseconds per request.

    python benchmarks/sink.py PORT [LATENCY_MS]
"""

from __future__ import annotations

import asyncio
import sys

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Sink(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport: it writes

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return  # the rest of the body is still on its way
            self.buffer = self.buffer[end + 4 + length :]
            if self.latency:
                asyncio.get_running_loop().call_later(self.latency, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ANSWER)


async def serve(port: int, latency: float) -> None:
    server = await asyncio.get_running_loop().create_server(lambda: Sink(latency), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    port = int(sys.argv[1])
    latency = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(port, latency))
    else:
        uvloop.run(serve(port, latency))


if __name__ == "__main__":
    main()
