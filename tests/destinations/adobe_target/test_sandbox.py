"""The sandbox itself: each documented answer, over real HTTP, and the command as a real process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from destkit.destinations.adobe_target.sandbox import AdobeTargetSandbox
from destkit.destinations.adobe_target.update_profiles_batch import CallBudget
from tests.processes import status_of, wait_until_up
from tests.rawhttp import exchange


@pytest.fixture
def sandbox() -> Iterator[AdobeTargetSandbox]:
    with AdobeTargetSandbox(profiles=[{"mbox3rdPartyId": "u1", "attributes": {"plan": "pro"}}]) as running:
        yield running


def test_profile_fetch_answers_like_adobe(sandbox: AdobeTargetSandbox) -> None:
    found = httpx.get(f"{sandbox.url}/rest/v1/profiles/thirdPartyId/u1", params={"client": "acme"})
    assert found.status_code == 200
    body = found.json()
    assert body["client"] == "acme" and body["profileAttributes"]["plan"]["value"] == "pro"
    missing = httpx.get(f"{sandbox.url}/rest/v1/profiles/thirdPartyId/nobody", params={"client": "acme"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"status": 404, "message": "No profile found for client acme with third party id=nobody"},
    )


def test_an_update_for_an_unknown_profile_is_accepted_and_dropped(sandbox: AdobeTargetSandbox) -> None:
    answer = httpx.get(f"{sandbox.url}/m2/acme/profile/update?mbox3rdPartyId=nobody&profile.a=1")
    assert answer.status_code == 200 and "<success>true</success>" in answer.text
    assert sandbox.dropped_updates == 1 and "nobody" not in sandbox.profiles


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("mbox3rdPartyId=u1&profile.bio=" + "x" * 257, 400),
        ("mbox3rdPartyId=u1&profile." + "n" * 129 + "=v", 400),
        ("profile.a=1", 400),
        ("mbox3rdPartyId=u1&" + "&".join(f"profile.a{i}=" + "y" * 100 for i in range(90)), 414),
    ],
)
def test_update_limits(sandbox: AdobeTargetSandbox, query: str, status: int) -> None:
    assert httpx.get(f"{sandbox.url}/m2/acme/profile/update?{query}").status_code == status


@pytest.mark.parametrize(
    ("session", "body", "status"),
    [
        ("s1", {"id": {"thirdPartyId": "new"}, "execute": {"pageLoad": {"profileParameters": {"a": "1"}}}}, 200),
        ("has space", {"id": {"thirdPartyId": "new"}}, 400),
        ("a/b", {"id": {"thirdPartyId": "new"}}, 400),
        ("s1", {"id": {}}, 400),
        (
            "s1",
            {"id": {"thirdPartyId": "new"}, "execute": {"pageLoad": {"profileParameters": {f"p{i}": "v" for i in range(51)}}}},
            400,
        ),
    ],
)
def test_delivery_api(sandbox: AdobeTargetSandbox, session: str, body: dict[str, object], status: int) -> None:
    answer = httpx.post(f"{sandbox.url}/rest/v1/delivery", params={"client": "acme", "sessionId": session}, json=body)
    assert answer.status_code == status, answer.text


def test_profiles_created_server_side_stay_invisible_for_the_delay() -> None:
    with AdobeTargetSandbox(visibility_delay=0.2) as sandbox:
        httpx.post(
            f"{sandbox.url}/rest/v1/delivery", params={"client": "c", "sessionId": "s"}, json={"id": {"thirdPartyId": "n1"}}
        )
        fetch = f"{sandbox.url}/rest/v1/profiles/thirdPartyId/n1"
        assert httpx.get(fetch).status_code == 404
        assert httpx.get(f"{sandbox.url}/_sandbox/profiles/n1").json()["visible"] is False
        time.sleep(0.25)
        assert httpx.get(fetch).status_code == 200


def test_inspection_endpoints(sandbox: AdobeTargetSandbox) -> None:
    httpx.get(f"{sandbox.url}/m2/acme/profile/update?mbox3rdPartyId=u1&profile.seats=3")
    profile = httpx.get(f"{sandbox.url}/_sandbox/profiles/u1").json()
    assert profile["attributes"] == {"plan": "pro", "seats": "3"} and profile["updates"] == 1
    assert httpx.get(f"{sandbox.url}/_sandbox/profiles/none").status_code == 404
    stats = httpx.get(f"{sandbox.url}/_sandbox/stats").json()
    assert stats["requests"]["profile_update"] == {"200": 1}


def test_faults_are_repeatable_with_a_seed() -> None:
    def statuses() -> list[int]:
        with AdobeTargetSandbox(profiles=["u1"], fault_rate=0.5, seed=11) as sandbox:
            return [httpx.get(f"{sandbox.url}/rest/v1/profiles/thirdPartyId/u1").status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert {429, 500, 503} <= set(first) and 200 in first


def test_a_bad_profiles_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": "x"}]))
    with pytest.raises(ValueError, match=r"profiles\[0\]"):
        AdobeTargetSandbox(profiles=path)


def test_the_call_budget_spaces_calls_past_the_limit() -> None:
    budget = CallBudget(calls=3, period=60)
    assert [budget.reserve(now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.reserve(now=100.0) == 60.0
    assert budget.reserve(now=161.0) == 0.0  # the first three have left the window


def test_the_sandbox_command_serves_until_stopped(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps(["seeded-1"]))
    destkit = Path(sys.executable).with_name("destkit")
    process = subprocess.Popen(
        [str(destkit), "sandbox", "adobe-target", "--port", str(port), "--profiles", str(profiles)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/_sandbox/profiles/seeded-1"
        if not wait_until_up(process, lambda: status_of(url) is not None):
            process.kill()
            pytest.fail(f"the sandbox did not start: {process.communicate(timeout=10)[1]}")
        answer = httpx.get(url)
        assert answer.status_code == 200 and answer.json()["mbox3rdPartyId"] == "seeded-1"
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize(
    ("raw", "answer"),
    [
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 "),
        (b"POST /rest/v1/delivery HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", b"HTTP/1.1 400 "),
        (b"POST /m2/c/v2/profile/batchUpdate HTTP/1.1\r\nHost: x\r\nContent-Length: 52428801\r\n\r\n", b"HTTP/1.1 413 "),
        (
            b"GET /rest/v1/profiles/thirdPartyId/u1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ",
        ),
    ],
)
def test_broken_or_oversized_requests_get_an_answer(sandbox: AdobeTargetSandbox, raw: bytes, answer: bytes) -> None:
    assert exchange(sandbox.url, raw).startswith(answer)


async def test_the_sandbox_answers_in_process_without_a_socket() -> None:
    sandbox = AdobeTargetSandbox(profiles=["u1"])  # not started
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://target") as client:
        answer = await client.get("/rest/v1/profiles/thirdPartyId/u1", params={"client": "acme"})
    assert answer.status_code == 200 and answer.json()["client"] == "acme"
