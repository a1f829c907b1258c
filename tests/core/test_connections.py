"""destkit serve's connections, as a real process: idle ones closed, file descriptors never exhausted for good."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import DESTKIT, free_port

KEY = "wk-conn-0123456789"


class Serve:
    def __init__(self, folder: Path, serve: dict[str, object], *options: str, files: int | None = None) -> None:
        config = folder / "serve.json"
        hook = {"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/never"}}
        config.write_text(json.dumps({"serve": {"write_keys": [KEY], **serve}, "destinations": [hook]}))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "serve.log"

        def few_files() -> None:  # in the child: a low limit, reached with a few dozen connections
            if files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

        args = [DESTKIT, "serve", "--config", str(config), "--port", str(self.port), "--state", str(folder / "s.db"), *options]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(args, stderr=log, preexec_fn=few_files)
        assert self.answers_health(within=10), self.log.read_text()

    def answers_health(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
        return False

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Serve]]:
    running: list[Serve] = []
    yield running
    for serve in running:
        serve.stop()


@pytest.mark.parametrize("sent", [b"", b"POST /v1/track HTTP/1.1\r\nHost: destkit\r\nX-Slow: "])
def test_a_connection_that_does_not_finish_its_headers_in_time_is_closed(
    tmp_path: Path, started: list[Serve], sent: bytes
) -> None:
    serve = Serve(tmp_path, {"header_timeout": 1})
    started.append(serve)
    with serve.connect() as sock:
        sock.sendall(sent)
        began = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, not by this timeout
        assert time.monotonic() - began < 4


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_idle_connections_cannot_exhaust_file_descriptors_for_good(tmp_path: Path, started: list[Serve], loop: str) -> None:
    serve = Serve(tmp_path, {"header_timeout": 4}, "--loop", loop, files=96)
    started.append(serve)
    idle = [serve.connect() for _ in range(160)]  # more than the process may open: the rest wait in the backlog
    try:
        assert serve.answers_health(within=12)
    finally:
        for sock in idle:
            sock.close()
    serve.stop()
    log = serve.log.read_text()
    # asyncio reports each failed accept (thousands a second while it lasts), and on shutdown each
    # retry it had scheduled: each kind once is enough.
    assert log.count("out of system resource") <= 1
    assert log.count("Exception in callback") <= 1
    assert len(log.splitlines()) < 100
