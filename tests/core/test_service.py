"""The tracking API in-process: the ASGI app with its lifespan, destinations over MockTransport."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit import ConfigError
from destkit.door import stamp
from destkit.service import Service
from destkit.testing import RecordingTransport

KEY = "wk-live-0123456789"


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
async def running(state_location: str) -> AsyncIterator[tuple[Service, httpx.AsyncClient, RecordingTransport]]:
    destination = RecordingTransport()
    config = {
        "serve": {"write_keys": [KEY]},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "https://hooks.example.com"}}],
    }
    service = Service(config, state=state_location, transport=destination, grace=5)
    async with service.running():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://destkit")
        async with client:
            yield service, client, destination


async def settled(service: Service, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        assert service.store is not None
        if await service.store.inbox_depth() == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the inbox did not empty")


async def test_events_are_accepted_stored_and_delivered(running: Any) -> None:
    service, client, destination = running
    answer = await client.post("/v1/track", json={"userId": "u1", "event": "Signed Up"}, headers=auth())
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    batch = {"batch": [{"type": "identify", "userId": f"u{n}", "traits": {"n": n}} for n in range(5)]}
    assert (await client.post("/v1/batch", json=batch, headers=auth())).status_code == 200
    await settled(service)
    bodies = [json.loads(r.content) for r in destination.requests]
    assert sorted(b["type"] for b in bodies) == ["identify"] * 5 + ["track"]
    assert all(b["messageId"] and b["receivedAt"] for b in bodies)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"userId": "u1", "event": "e"}, 401),
        (auth("wk-wrong"), {"userId": "u1", "event": "e"}, 401),
        ({"Authorization": "Basic !!!"}, {"userId": "u1", "event": "e"}, 401),
        ({}, {"userId": "u1", "event": "e", "writeKey": KEY}, 200),  # the key in the body, as some libraries send it
        (auth(), {"userId": "u1", "event": "e"}, 200),
    ],
)
async def test_the_write_key_is_checked(running: Any, headers: dict[str, str], body: dict[str, Any], status: int) -> None:
    _, client, _ = running
    answer = await client.post("/v1/track", json=body, headers=headers)
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["success"] is False and answer.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        (
            "/v1/track",
            {"userId": "u1", "event": "e", "properties": {"blob": "x" * 33_000}},
            413,
            "over 32 KB, the limit for an event",
        ),
        (
            "/v1/batch",
            {"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"b": "x" * 30_000}}] * 18},
            413,
            "over 500 KB",
        ),
        (
            "/v1/batch",
            {"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"b": "x" * 33_000}}]},
            400,
            "batch[0] is 33,",
        ),
        ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "e"}] * 2501}, 400, "2,501 events; at most 2,500"),
        ("/v1/batch", {"events": []}, 400, 'a batch is {"batch": [events...]}'),
        ("/v1/batch", {"batch": ["nope"]}, 400, "batch[0] is not a JSON object"),
        (
            "/v1/batch",
            {"sentAt": "yesterday", "batch": [{"type": "track", "userId": "u", "event": "e"}]},
            400,
            "the batch's sentAt is not a time: 'yesterday'",
        ),
    ],
)
async def test_limits_and_shapes_are_refused_with_a_json_message(
    running: Any, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    service, client, _ = running
    answer = await client.post(path, json=body, headers=auth())
    assert answer.status_code == status
    assert words in answer.json()["message"]
    assert await service.store.inbox_depth() == 0


async def test_a_batchs_sentat_that_no_event_takes_is_not_checked(running: Any) -> None:
    service, client, _ = running
    event = {"type": "track", "userId": "u", "event": "e", "sentAt": "2024-05-01T00:00:00Z"}
    answer = await client.post("/v1/batch", json={"sentAt": "yesterday", "batch": [event]}, headers=auth())
    assert answer.status_code == 200 and await service.store.inbox_depth() == 1


async def test_a_body_that_is_not_json_is_refused(running: Any) -> None:
    _, client, _ = running
    answer = await client.post("/v1/track", content=b"{nope", headers=auth())
    assert answer.status_code == 400 and "not JSON" in answer.json()["message"]


async def test_gzip_bodies_are_read(running: Any) -> None:
    service, client, destination = running
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "userId": "g", "event": "e"}]}).encode())
    answer = await client.post(
        "/v1/batch", content=body, headers={**auth(), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    await settled(service)
    assert json.loads(destination.requests[0].content)["userId"] == "g"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (gzip.compress(b" " * 5_000_000), 413, "once unzipped"),  # about 5 KB that unpacks to 5 MB
        (gzip.compress(json.dumps({"userId": "g", "event": "e"}).encode())[:-12], 400, "says gzip but is not"),
        (b"not gzip at all", 400, "says gzip but is not"),
    ],
    ids=["bomb", "cut short", "not gzip"],
)
async def test_gzip_bodies_are_unpacked_within_the_limit(running: Any, body: bytes, status: int, words: str) -> None:
    _, client, _ = running
    answer = await client.post("/v1/track", content=body, headers={**auth(), "Content-Encoding": "gzip"})
    assert answer.status_code == status and words in answer.json()["message"]


async def test_health_and_metrics(running: Any) -> None:
    service, client, _ = running
    await client.post("/v1/identify", json={"userId": "u1", "traits": {}}, headers=auth())
    await client.post("/v1/identify", json={"userId": "u1"}, headers=auth("wk-bad"))
    await settled(service)
    assert (await client.get("/healthz")).json() == {"status": "ok", "queue": 0, "parked": 0}
    text = (await client.get("/metrics")).text
    assert 'destkit_events_received_total{type="identify"} 1.0' in text
    assert 'destkit_requests_rejected_total{reason="auth"} 1.0' in text
    assert 'destkit_outcomes_total{destination="hook",status="delivered",subscription="every event"} 1.0' in text
    assert "destkit_queue_depth 0.0" in text and "destkit_delivery_seconds_bucket" in text
    assert KEY not in text


def test_the_timestamp_is_corrected_for_the_senders_clock() -> None:
    received = datetime(2026, 11, 1, 12, 0, 10, tzinfo=UTC)
    # the sender's clock is 1 hour behind: it stamped the event 5 s before sending it
    stamped = stamp({"timestamp": "2026-11-01T11:00:00Z"}, received, "2026-11-01T11:00:05Z")
    assert stamped["originalTimestamp"] == "2026-11-01T11:00:00Z"
    assert stamped["timestamp"] == "2026-11-01T12:00:05Z"
    assert stamped["receivedAt"] == "2026-11-01T12:00:10Z"
    assert stamped["messageId"].startswith("dk-")
    assert stamp({"messageId": "keep"}, received, None)["messageId"] == "keep"


def test_serve_needs_a_write_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="serve needs at least one write key"):
        Service({"destinations": []}, state=tmp_path / "s.db")


def test_the_embedding_example_runs_both_ways() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "embedding.py"
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "runtime: crm/every event delivered after 1 attempt(s)" in result.stdout
    assert "mounted: POST /segment/v1/identify -> 200" in result.stdout
    assert "webhook received 2 event(s): track, identify" in result.stdout


async def test_a_full_queue_is_answered_503_until_it_drains(state_location: str) -> None:
    release = asyncio.Event()

    async def slow_destination(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json={})

    config = {
        "serve": {"write_keys": [KEY], "max_queue": 3},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "https://hooks.example.com"}}],
    }
    service = Service(config, state=state_location, transport=httpx.MockTransport(slow_destination), grace=5)
    async with service.running():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://destkit")
        async with client:
            batch = {"batch": [{"type": "track", "userId": f"u{n}", "event": "e"} for n in range(2)]}
            assert (await client.post("/v1/batch", json=batch, headers=auth())).status_code == 200
            full = await client.post("/v1/batch", json=batch, headers=auth())
            assert (full.status_code, full.headers["retry-after"]) == (503, "5")
            assert "serve.max_queue is 3" in full.json()["message"]
            assert (await client.get("/healthz")).json()["queue"] == 2
            release.set()
            await settled(service)
            assert (await client.get("/healthz")).json()["queue"] == 0
            assert (await client.post("/v1/batch", json=batch, headers=auth())).status_code == 200
            assert 'destkit_requests_rejected_total{reason="queue_full"} 1.0' in (await client.get("/metrics")).text
            too_big = {"batch": [{"type": "track", "userId": f"u{n}", "event": "e"} for n in range(4)]}
            answer = await client.post("/v1/batch", json=too_big, headers=auth())
            assert answer.status_code == 400 and "more than serve.max_queue (3)" in answer.json()["message"]


async def test_a_destination_refusing_its_credentials_is_suspended_in_the_metrics_and_its_events_parked(
    state_location: str,
) -> None:
    config = {
        "serve": {"write_keys": [KEY]},
        "destinations": [
            {
                "name": "hook",
                "type": "webhook",
                "settings": {"url": "https://hooks.example.com"},
                "retry": {"max_attempts": 1},
                "auth_failure_limit": 2,
            }
        ],
    }
    destination = RecordingTransport(lambda request: httpx.Response(401, json={}))
    service = Service(config, state=state_location, transport=destination, grace=5)
    async with service.running():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://destkit")
        async with client:
            before = (await client.get("/metrics")).text
            for n in range(5):  # one person: delivered one after another
                await client.post("/v1/track", json={"userId": "u1", "event": f"e{n}"}, headers=auth())
                await settled(service)
            text = (await client.get("/metrics")).text
            assert service.store is not None
            parked = await service.store.parked()
    assert 'destkit_destination_suspended{destination="hook"} 0.0' in before
    assert 'destkit_destination_suspended{destination="hook"} 1.0' in text
    assert len(destination.requests) == 2
    assert [p.error_code for p in parked] == ["DESTINATION_SUSPENDED"] * 4


async def test_an_event_sent_again_is_counted_already_delivered(running: Any) -> None:
    service, client, destination = running
    for _ in range(2):
        event = {"userId": "u1", "event": "Signed Up", "messageId": "m-twice"}
        assert (await client.post("/v1/track", json=event, headers=auth())).status_code == 200
        await settled(service)
    text = (await client.get("/metrics")).text
    assert 'destkit_outcomes_total{destination="hook",status="already_delivered",subscription="every event"} 1.0' in text
    assert len(destination.requests) == 1


async def test_a_queue_count_read_while_events_came_in_is_read_again(tmp_path: Path) -> None:
    config = {
        "serve": {"write_keys": [KEY]},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "https://hooks.example.com"}}],
    }
    service = Service(config, state=tmp_path / "s.db", transport=RecordingTransport(), grace=5, deliver=False)
    store = await service.open()
    try:
        counted = store.inbox_depth

        async def depth_overtaken_once() -> int:
            stale = await counted()
            if service._changes == 0:  # while this count was read, another request stored two events
                await store.accept([("u1", '{"type":"track"}'), ("u2", '{"type":"track"}')], 0.0)
                service._changes += 1
            return stale

        store.inbox_depth = depth_overtaken_once  # type: ignore[method-assign]
        await service._count(store)
        assert service._depth == 2
    finally:
        await store.close()
