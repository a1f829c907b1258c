"""Real processes for integration tests: destkit commands and the Adobe Target sandbox."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DESTKIT = str(Path(sys.executable).with_name("destkit"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    """``destkit sandbox adobe-target`` (or another destination's, by ``kind``) as a real process."""

    def __init__(self, *options: str, profiles: list[Any] | None = None, folder: Path, kind: str = "adobe-target") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [DESTKIT, "sandbox", kind, "--port", str(self.port), *options]
        if profiles is not None:
            path = folder / "profiles.json"
            path.write_text(json.dumps(profiles))
            args += ["--profiles", str(path)]
        self.process = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        if not wait_until_up(self.process, lambda: status_of(f"{self.url}/_sandbox/stats") is not None):
            self.process.kill()
            raise RuntimeError(f"the sandbox did not start (exit code {self.process.wait(10)})")

    def profile(self, third_party_id: str) -> dict[str, Any] | None:
        answer = httpx.get(f"{self.url}/_sandbox/profiles/{third_party_id}")
        return None if answer.status_code == 404 else answer.json()

    def updates(self, third_party_id: str) -> int:
        """How many updates the profile has had; 0 when there is no such profile."""
        profile = self.profile(third_party_id)
        return int(profile["updates"]) if profile is not None else 0

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.get("/_sandbox/stats")
        return data

    def get(self, path: str) -> Any:
        """What the sandbox answers to ``GET path`` (its inspection endpoints), as JSON."""
        return httpx.get(f"{self.url}{path}").json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Running:
    """A long-running ``destkit serve`` or ``destkit worker`` process, started and waited for;
    what it writes on stderr goes to ``log`` (read it with :meth:`output`)."""

    def __init__(self, *args: str, log: Path, port: int | None = None, ready: str = "") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.log = log
        self.args = [DESTKIT, *args, *(["--port", str(port)] if port else [])]
        with open(log, "w") as err:
            self.process = subprocess.Popen(self.args, stderr=err)
        self._wait_until_ready(ready)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_until_ready(self, ready: str) -> None:
        # A service answers /healthz once it is up; a worker says so on standard error.
        up = (lambda: status_of(f"{self.url}/healthz") == 200) if self.port else (lambda: ready in self.output())
        if not wait_until_up(self.process, up):
            self.process.kill()
            self.process.wait(10)
            raise RuntimeError(f"{' '.join(self.args[1:3])} did not start: {self.output()}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(30)


#: How long a process started by a test may take to be up. Generous: the tests run beside
#: other test processes on a machine of two cores, where a start can take several seconds.
START_ALLOWANCE = 60.0


def wait_until_up(process: subprocess.Popen[Any], up: Callable[[], bool], allowance: float = START_ALLOWANCE) -> bool:
    """Whether ``up()`` comes true before ``process`` exits and within ``allowance`` seconds."""
    deadline = time.monotonic() + allowance
    while time.monotonic() < deadline and process.poll() is None:
        if up():
            return True
        time.sleep(0.05)
    return False


def status_of(url: str) -> int | None:
    """The status ``GET url`` answers, or None when nothing answers yet."""
    try:
        return httpx.get(url).status_code
    except httpx.TransportError:
        return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue  # gone meanwhile
            if parent == pid:
                found.append(int(entry.name))
    return found


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` ends (or is left a zombie) within ``timeout`` seconds (Linux: /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False
