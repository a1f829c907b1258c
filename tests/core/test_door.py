"""The tracking API's door, through a real uvicorn on 127.0.0.1: bounded, strict, authenticated first."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit.service import Service
from destkit.testing import LoopbackServer, Reply
from tests.rawhttp import exchange

KEY = "wk-door-0123456789"


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class Running:
    """A service on a real port delivering to a recording webhook, both on 127.0.0.1."""

    def __init__(self, folder: Path, hook: LoopbackServer) -> None:
        self.state = folder / "state.db"
        config = {
            "serve": {"write_keys": [KEY], "body_timeout": 1},
            "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": hook.url}}],
        }
        self.service = Service(config, state=str(self.state), grace=5)
        self.server = LoopbackServer(app=self.service.app)
        self.hook = hook

    @property
    def url(self) -> str:
        return self.server.url

    def post(
        self, path: str, body: Any = None, *, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = auth() if headers is None else headers
        return httpx.post(self.url + path, json=body, content=content, headers=headers, timeout=10)

    def delivered(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 10
        while len(self.hook.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [request.json() for request in self.hook.requests]

    def stored_bytes(self) -> bytes:
        return b"".join(path.read_bytes() for path in self.state.parent.glob("state.db*"))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with LoopbackServer(lambda request: Reply(200, {})) as hook:
        service = Running(tmp_path, hook)
        with service.server:
            yield service


HUGE = b"POST %s HTTP/1.1\r\nHost: destkit\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n%s\r\n"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/batch", b"", 413),  # no credentials: the declared length alone is refused
        ("/v1/track", b"", 413),
        ("/v1/batch", b"Authorization: Basic " + base64.b64encode(b"wk-wrong:") + b"\r\n", 401),  # wrong key: before the body
        ("/v1/batch", b"Authorization: Basic " + base64.b64encode(KEY.encode() + b":") + b"\r\n", 413),
    ],
)
def test_a_huge_declared_body_is_refused_before_a_byte_of_it_is_read(
    running: Running, path: str, headers: bytes, status: int
) -> None:
    answer = exchange(running.url, HUGE % (path.encode(), headers))  # the body never comes
    assert answer.startswith(b"HTTP/1.1 %d " % status)
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["success"] is False


def test_a_streamed_body_over_the_cap_is_refused_without_holding_it(running: Running) -> None:
    chunks = (b" " * 65536 for _ in range(64))  # 4 MB without a Content-Length
    answer = httpx.post(running.url + "/v1/batch", content=chunks, headers=auth(), timeout=10)
    assert answer.status_code == 413 and "over 500 KB" in answer.json()["message"]


def test_a_body_trickling_in_past_the_body_timeout_is_a_408(running: Running) -> None:
    head = b"POST /v1/track HTTP/1.1\r\nHost: destkit\r\nContent-Length: 100\r\nAuthorization: "
    head += auth()["Authorization"].encode()
    started = time.monotonic()
    answer = exchange(running.url, head + b"\r\n\r\n", b'{"userId"', pause=0.5)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within 1 seconds" in answer
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("path", "content", "words"),
    [
        ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"p": ' + b"[" * 1100 + b"]" * 1100 + b"}}", "nested deeper"),
        ("/v1/batch", b'{"batch": [' + b"[" * 980 + b"]" * 980 + b"]}", "nested deeper"),
        ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"plan": NaN}}', "NaN is not a JSON number"),
        ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"plan": Infinity}}', "Infinity is not a JSON number"),
        ("/v1/identify", b'{"userId": "u", "traits": {"n": 1e999}}', "too large to be finite"),
        ("/v1/track", b'{"userId": "\\ud800", "event": "e"}', "not valid Unicode"),
        ("/v1/track", b"{\"userId\": \"u\", \"event\": \"e\"", "not JSON"),
        ("/v1/track", b"\xff\xfe", "not valid UTF-8"),
    ],
)
def test_hostile_json_is_a_400_naming_the_problem(running: Running, path: str, content: bytes, words: str) -> None:
    answer = running.post(path, content=content)
    assert answer.status_code == 400
    assert words in answer.json()["message"]
    assert running.delivered(0) == []


@pytest.mark.parametrize("key", [["x"], {"k": KEY}, 12, True])
def test_a_write_key_in_the_body_that_is_not_a_string_is_a_400(running: Running, key: Any) -> None:
    answer = running.post("/v1/track", {"userId": "u", "event": "e", "writeKey": key}, headers={})
    assert answer.status_code == 400 and answer.json()["message"] == "writeKey must be a string"


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/v1/track", {}, "event: missing"),
        ("/v1/page", {}, "needs a userId or an anonymousId"),
        ("/v1/identify", {"traits": {"plan": "pro"}}, "needs a userId or an anonymousId"),
        ("/v1/track", {"userId": "u"}, "event: missing"),
        ("/v1/group", {"userId": "u"}, "groupId: missing"),
    ],
)
def test_a_single_event_segment_would_not_accept_is_a_400(running: Running, path: str, body: Any, words: str) -> None:
    answer = running.post(path, body)
    assert answer.status_code == 400 and words in answer.json()["message"]


def test_events_of_a_batch_segment_would_not_accept_are_left_out_logged_and_counted(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    batch = [
        {"type": "track", "userId": "u1", "event": "Kept"},
        {},
        {"type": "purchase", "userId": "u1"},
        {"type": "x" * 20_000, "userId": "u1"},
        {"type": "identify"},
        {"type": "track", "userId": "u2", "event": "Kept too"},
    ]
    answer = running.post("/v1/batch", {"batch": batch})
    assert answer.status_code == 200
    assert [body["event"] for body in running.delivered(2)] == ["Kept", "Kept too"]
    metrics = httpx.get(running.url + "/metrics").text
    assert 'destkit_events_dropped_total{reason="unknown_type"} 3.0' in metrics
    assert 'destkit_events_dropped_total{reason="no_user_anon_id"} 1.0' in metrics
    assert "left out an event of an accepted batch" in caplog.text
    assert "x" * 400 not in caplog.text  # what a client sent is quoted, shortened


def test_metric_labels_never_take_a_value_a_client_chose(running: Running) -> None:
    batch = [{"type": f"t-{n}-" + "y" * 100, "userId": "u", "event": "e"} for n in range(50)]
    running.post("/v1/batch", {"batch": batch})
    running.post("/v1/track", {"userId": "u", "event": "e"}, headers=auth("wk-" + "z" * 100))
    metrics = httpx.get(running.url + "/metrics").text
    assert "yyyy" not in metrics and "zzzz" not in metrics
    assert len(metrics) < 20_000


def test_a_write_key_never_reaches_a_destination_or_the_store(running: Running) -> None:
    batch = [{"type": "track", "userId": f"u{n}", "event": "e", "writeKey": KEY, "write_key": KEY} for n in range(3)]
    assert running.post("/v1/batch", {"batch": batch, "writeKey": KEY}, headers={}).status_code == 200
    assert running.post("/v1/track", {"userId": "u9", "event": "e", "writeKey": KEY}, headers={}).status_code == 200
    bodies = running.delivered(4)
    assert len(bodies) == 4
    assert all("writeKey" not in body and "write_key" not in body for body in bodies)
    assert KEY.encode() not in running.stored_bytes()
