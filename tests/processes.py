"""Real processes for integration tests: destkit commands and the Adobe Target sandbox."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

DESTKIT = str(Path(sys.executable).with_name("destkit"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    """``destkit sandbox adobe-target`` as a real process."""

    def __init__(self, *options: str, profiles: list[Any] | None = None, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [DESTKIT, "sandbox", "adobe-target", "--port", str(self.port), *options]
        if profiles is not None:
            path = folder / "profiles.json"
            path.write_text(json.dumps(profiles))
            args += ["--profiles", str(path)]
        self.process = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                httpx.get(f"{self.url}/_sandbox/stats")
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the sandbox did not start")

    def profile(self, third_party_id: str) -> dict[str, Any] | None:
        answer = httpx.get(f"{self.url}/_sandbox/profiles/{third_party_id}")
        return None if answer.status_code == 404 else answer.json()

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/stats").json()
        return data

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
