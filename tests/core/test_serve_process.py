"""destkit serve as a real process, fed by Segment's own Python library, delivering to the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import DESTKIT, Sandbox, free_port, status_of, wait_until_up

KEY = "wk-e2e-0123456789"


class Serve:
    def __init__(self, config: Path, state: Path, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [DESTKIT, "serve", "--config", str(config), "--port", str(self.port), "--state", str(state), "--grace", "5"]
        args += options
        self.process = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        if not wait_until_up(self.process, lambda: status_of(f"{self.url}/healthz") == 200):
            self.process.kill()
            raise RuntimeError(f"destkit serve did not start (exit code {self.process.wait(10)})")

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/healthz").json()
        return data


def write_config(folder: Path, sandbox_url: str) -> Path:
    config = {
        "serve": {"write_keys": [KEY]},
        "state": {"lease_seconds": 3},  # after a kill, the restarted service takes the work over 3 s later
        "destinations": [
            {
                "name": "target",
                "type": "adobe-target",
                "settings": {"client_code": "acme", "base_url": sandbox_url},
                "subscriptions": [{"name": "profiles", "action": "update_profile", "mapping": {"traits": {"@path": "$.traits"}}}],
            }
        ],
    }
    path = folder / "serve.json"
    path.write_text(json.dumps(config))
    return path


def send_with_segment_library(url: str, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run Segment's analytics-python in its own process, pointed at destkit."""
    script = (
        "import json, sys\n"
        "import segment.analytics as analytics\n"
        f"analytics.write_key = {KEY!r}\nanalytics.host = {url!r}\nanalytics.sync_mode = True\n"
        "failures = []\nanalytics.on_error = lambda error, items: failures.append(str(error))\n"
        "for method, args in json.load(sys.stdin):\n    getattr(analytics, method)(*args)\n"
        "analytics.flush()\nsys.exit(1 if failures else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], input=json.dumps(calls), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_segment_library_to_serve_to_adobe_target(tmp_path: Path) -> None:
    sandbox = Sandbox(profiles=["user-1", "user-2"], folder=tmp_path)
    serve = Serve(write_config(tmp_path, sandbox.url), tmp_path / "state.db")
    try:
        send_with_segment_library(
            serve.url,
            [
                ("identify", ("user-1", {"plan": "pro", "seats": 3})),
                ("identify", ("user-2", {"plan": "team", "tags": ["a", "b"]})),
                ("track", ("user-1", "Signed Up", {"source": "ads"})),
            ],
        )
        wait_for(lambda: (sandbox.profile("user-2") or {}).get("updates") == 1)
        assert sandbox.profile("user-1")["attributes"] == {"plan": "pro", "seats": "3"}  # type: ignore[index]
        assert sandbox.profile("user-2")["attributes"] == {"plan": "team", "tags.0": "a", "tags.1": "b"}  # type: ignore[index]
        wait_for(lambda: serve.health()["queue"] == 0)
        metrics = httpx.get(f"{serve.url}/metrics").text
        assert 'destkit_events_received_total{type="identify"} 2.0' in metrics
    finally:
        serve.process.terminate()
        serve.process.wait(20)
        sandbox.stop()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_nothing_accepted_is_lost_across_a_stop_and_restart(tmp_path: Path, stop: signal.Signals) -> None:
    count = 60
    sandbox = Sandbox("--latency-ms", "100", profiles=[f"user-{n}" for n in range(count)], folder=tmp_path)
    config, state = write_config(tmp_path, sandbox.url), tmp_path / "state.db"
    serve = Serve(config, state)
    try:
        batch = {"batch": [{"type": "identify", "userId": f"user-{n}", "traits": {"n": n}} for n in range(count)]}
        answer = httpx.post(f"{serve.url}/v1/batch", json=batch, auth=(KEY, ""))
        assert answer.status_code == 200
        os.kill(serve.process.pid, stop)  # at once, with deliveries in flight
        serve.process.wait(30)
        delivered_before = sum(1 for n in range(count) if sandbox.updates(f"user-{n}"))
        if stop == signal.SIGKILL:
            assert delivered_before < count  # killed mid-way: the rest is only in the inbox
        # (SIGTERM lets in-flight deliveries finish within --grace; what it did not reach stays in the inbox)

        serve = Serve(config, state)
        wait_for(lambda: all(sandbox.updates(f"user-{n}") >= 1 for n in range(count)), timeout=60)
        wait_for(lambda: serve.health()["queue"] == 0)
        assert sum(sandbox.updates(f"user-{n}") for n in range(count)) <= count + 32
    finally:
        serve.process.terminate()
        serve.process.wait(20)
        sandbox.stop()


def test_profile_lookups_on_a_real_service_fed_by_the_segment_library(tmp_path: Path) -> None:
    config = {
        "serve": {"write_keys": [KEY], "edge_tokens": ["${EDGE_TOKEN}"]},
        "destinations": [
            {
                "name": "personalization",
                "type": "custom-personalization-with-attributes",
                "settings": {"datastream_id": "web"},
                "subscriptions": [
                    {
                        "name": "profile",
                        "action": "sync_profile",
                        "mapping": {"attributes": {"plan": {"@path": "$.traits.plan"}}},
                    }
                ],
            }
        ],
    }
    path = tmp_path / "serve.json"
    path.write_text(json.dumps(config))
    os.environ["EDGE_TOKEN"] = "edge-e2e-token-0123"
    try:
        serve = Serve(path, tmp_path / "state.db")
    finally:
        del os.environ["EDGE_TOKEN"]
    audience = {"personas": {"computation_class": "audience", "computation_key": "trial_users"}}
    try:
        send_with_segment_library(
            serve.url, [("identify", ("user-7", {"plan": "pro"})), ("identify", ("user-7", {"trial_users": True}, audience))]
        )
        wait_for(lambda: serve.health()["queue"] == 0)
        body = {"event": {"xdm": {"identityMap": {"userId": [{"id": "user-7", "primary": True}]}}}}
        url = f"{serve.url}/ee/v2/interact?dataStreamId=web"
        (anonymous,) = httpx.post(url, json=body).json()["handle"][0]["payload"]
        assert anonymous["segments"] == [{"id": "trial_users"}] and "attributes" not in anonymous
        token = {"Authorization": "Bearer edge-e2e-token-0123"}
        (authenticated,) = httpx.post(url, json=body, headers=token).json()["handle"][0]["payload"]
        assert authenticated["attributes"] == {"plan": {"value": "pro"}}
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer nope-nope"}).status_code == 401
    finally:
        serve.process.terminate()
        serve.process.wait(20)


def test_the_example_service_runs_sandboxed(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    serve = Serve(examples / "serve.yaml", tmp_path / "state.db", "--sandbox")
    try:
        events = [json.loads(line) for line in (examples / "events.jsonl").read_text().splitlines()]
        answer = httpx.post(f"{serve.url}/v1/batch", json={"batch": events}, auth=("wk-example-0123456789", ""))
        assert answer.status_code == 200
        wait_for(lambda: serve.health()["queue"] == 0)
        metrics = httpx.get(f"{serve.url}/metrics").text
        delivered = 'destkit_outcomes_total{destination="target",status="delivered",subscription="profile traits"}'
        assert float(metrics.split(delivered)[1].split()[0]) > 40  # Adobe Target, played by its sandbox
        body = {"event": {"xdm": {"identityMap": {"userId": [{"id": "user-005", "primary": True}]}}}}
        payload = httpx.post(f"{serve.url}/ee/v2/interact?dataStreamId=web", json=body).json()["handle"][0]["payload"]
        assert [entry["alias"] for entry in payload] == ["personalizationAlias", "target-edge"]
        assert all(entry["segments"] for entry in payload)
    finally:
        serve.process.terminate()
        serve.process.wait(20)
