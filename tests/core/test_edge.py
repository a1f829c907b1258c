"""Profile lookups (POST /ee/v2/interact) on the service in-process, over a real state store (both backends)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit.service import Service
from destkit.testing import LoopbackServer, make_event
from tests.rawhttp import exchange

KEY = "wk-edge-0123456789"
TOKEN = "edge-token-abcdef123456"
ALIAS = "personalizationAlias"


def destinations() -> list[dict[str, Any]]:
    return [
        {"name": "cp", "type": "custom-personalization", "settings": {"datastream_id": "web", "alias": ALIAS}},
        {
            "name": "cp-attrs",
            "type": "custom-personalization-with-attributes",
            "settings": {"datastream_id": "web", "destination_id": "7bb4cb8d-8c2e-4450-871d-b7824f547130"},
            "subscriptions": [
                {"name": "audiences", "action": "sync_audiences"},
                {
                    "name": "attributes",
                    "action": "sync_profile",
                    "trigger": 'type = "identify"',
                    "mapping": {"attributes": {"countryCode": {"@path": "$.traits.country"}}},
                },
            ],
        },
        {"name": "target", "type": "adobe-target-edge", "settings": {"datastream_id": "app"}},
    ]


@pytest.fixture
async def client(state_location: str) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    config = {"serve": {"write_keys": [KEY], "edge_tokens": [TOKEN]}, "destinations": destinations()}
    service = Service(config, state=state_location, grace=5)
    async with service.running():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://destkit")
        async with http:
            yield service, http


def personas(key: str) -> dict[str, Any]:
    return {"personas": {"computation_class": "audience", "computation_key": key}}


async def send(service: Service, http: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    basic = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    answer = await http.post("/v1/batch", json={"batch": events}, headers={"Authorization": basic})
    assert answer.status_code == 200
    for _ in range(250):
        if service.store is not None and await service.store.inbox_depth() == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the inbox did not empty")


def lookup_body(*identities: tuple[str, str, bool]) -> dict[str, Any]:
    identity_map: dict[str, list[dict[str, Any]]] = {}
    for namespace, identity, primary in identities:
        identity_map.setdefault(namespace, []).append({"id": identity, "primary": primary})
    return {"event": {"xdm": {"identityMap": identity_map}}}


async def lookup(http: httpx.AsyncClient, datastream: str, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(f"/ee/v2/interact?dataStreamId={datastream}", json=body, headers=headers)


@pytest.fixture
async def known(client: tuple[Service, httpx.AsyncClient]) -> tuple[Service, httpx.AsyncClient]:
    service, http = client
    await send(
        service,
        http,
        [
            make_event("identify", userId="u1", anonymousId="a1", traits={"vip": True}, context=personas("vip")),
            make_event("identify", userId="u1", traits={"country": "DE"}),
            make_event(
                "track",
                userId="u1",
                event="Audience Entered",
                properties={"audience_key": "churn", "churn": True},
                context=personas("churn"),
            ),
            make_event("identify", anonymousId="a2", traits={"churn": True}, context=personas("churn")),
            make_event("identify", userId="u5", traits={"country": "FR"}),  # kept by cp-attrs only
        ],
    )
    return service, http


def payload_of(answer: httpx.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    data = answer.json()
    uuid.UUID(data["requestId"])
    (handle,) = data["handle"]
    assert (handle["type"], handle["eventIndex"]) == ("activation:pull", 0)
    payload: list[dict[str, Any]] = handle["payload"]
    return payload


async def test_an_unauthenticated_lookup_gets_audiences_only(known: tuple[Service, httpx.AsyncClient]) -> None:
    _, http = known
    payload = payload_of(await lookup(http, "web", lookup_body(("userId", "u1", True))))
    assert payload == [
        {
            "type": "profileLookup",
            "destinationId": payload[0]["destinationId"],
            "alias": "personalizationAlias",
            "segments": [{"id": "vip"}, {"id": "churn"}],
        },
        {
            "type": "profileLookup",
            "destinationId": "7bb4cb8d-8c2e-4450-871d-b7824f547130",
            "alias": "cp-attrs",
            "segments": [{"id": "vip"}, {"id": "churn"}],
        },
    ]
    uuid.UUID(payload[0]["destinationId"])  # made from the datastream and the name, and stable:
    again = payload_of(await lookup(http, "web", lookup_body(("userId", "u1", True))))
    assert again[0]["destinationId"] == payload[0]["destinationId"]


async def test_an_authenticated_lookup_adds_attributes_where_kept(known: tuple[Service, httpx.AsyncClient]) -> None:
    _, http = known
    payload = payload_of(await lookup(http, "web", lookup_body(("userId", "u1", True)), token=TOKEN))
    assert "attributes" not in payload[0]  # the destination without attributes
    assert payload[1]["attributes"] == {"countryCode": {"value": "DE"}}


@pytest.mark.parametrize(
    ("datastream", "identities", "expected"),
    [
        ("web", [("anonymousId", "a2", True)], {ALIAS: ["churn"], "cp-attrs": ["churn"]}),
        ("web", [("anonymousId", "nobody", True)], {}),  # unknown: an empty payload
        ("web", [("userId", "u5", True)], {ALIAS: [], "cp-attrs": []}),  # known: every destination answers
        ("web", [("Email", "u1", True)], {}),  # ids are per namespace
        # the primary identity is asked first, then the others in order
        ("web", [("anonymousId", "a1", False), ("anonymousId", "a2", True)], {ALIAS: ["churn"], "cp-attrs": ["churn"]}),
        ("web", [("anonymousId", "nobody", True), ("anonymousId", "a1", False)], {ALIAS: ["vip"], "cp-attrs": ["vip"]}),
        ("app", [("userId", "u1", True)], {"target": ["vip", "churn"]}),
    ],
)
async def test_identities_are_looked_up_per_datastream(
    known: tuple[Service, httpx.AsyncClient], datastream: str, identities: list[tuple[str, str, bool]], expected: dict[str, Any]
) -> None:
    _, http = known
    payload = payload_of(await lookup(http, datastream, lookup_body(*identities)))
    assert {entry["alias"]: [s["id"] for s in entry["segments"]] for entry in payload} == expected


async def test_several_events_get_one_handle_each(known: tuple[Service, httpx.AsyncClient]) -> None:
    _, http = known
    body = {"events": [lookup_body(("userId", "u1", True))["event"], lookup_body(("userId", "nobody", True))["event"]]}
    answer = await lookup(http, "app", body)
    assert [(h["eventIndex"], len(h["payload"])) for h in answer.json()["handle"]] == [(0, 1), (1, 0)]


@pytest.mark.parametrize(
    ("headers", "query", "body", "status", "words"),
    [
        ({"Authorization": "Bearer wrong-token"}, "dataStreamId=web", lookup_body(("userId", "u1", True)), 401, "not valid"),
        ({"Authorization": f"Basic {TOKEN}"}, "dataStreamId=web", lookup_body(("userId", "u1", True)), 401, "Bearer"),
        ({}, "", lookup_body(("userId", "u1", True)), 400, "dataStreamId query parameter is required"),
        ({}, "dataStreamId=nope", lookup_body(("userId", "u1", True)), 400, "no destination is configured for datastream 'nope'"),
        ({}, "dataStreamId=web", {"xdm": {}}, 400, 'the body must be {"event"'),
        ({}, "dataStreamId=web", {"event": {"xdm": {}}}, 400, "event.xdm.identityMap is required"),
        ({}, "dataStreamId=web", {"event": {"xdm": {"identityMap": {"Email": {"id": "x"}}}}}, 400, "Email must be a list"),
        ({}, "dataStreamId=web", {"event": {"xdm": {"identityMap": {"Email": [{"id": ""}]}}}}, 400, "Email[0].id must be"),
        # PostgreSQL's text cannot hold a NUL: refused alike on both backends, the id not repeated.
        ({}, "dataStreamId=web", lookup_body(("Email", "a\x00b", True)), 400, "Email[0].id holds a NUL character"),
        ({}, "dataStreamId=web", lookup_body(("E\x00mail", "a", True)), 400, "namespace 'E\\x00mail' holds a NUL"),
    ],
)
async def test_bad_lookups_get_problem_details(
    client: tuple[Service, httpx.AsyncClient], headers: dict[str, str], query: str, body: Any, status: int, words: str
) -> None:
    _, http = client
    answer = await http.post(f"/ee/v2/interact?{query}", json=body, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and words in problem["detail"]
    assert problem["report"]["requestId"]
    if status == 401:
        assert problem["type"] == "https://ns.adobe.com/aep/errors/EXEG-0500-401"
    assert TOKEN not in answer.text


async def test_a_body_that_is_not_json_is_a_problem(client: tuple[Service, httpx.AsyncClient]) -> None:
    _, http = client
    answer = await http.post("/ee/v2/interact?dataStreamId=web", content=b"{nope")
    assert answer.status_code == 400 and "not JSON" in answer.json()["detail"]


async def test_lookups_are_counted_in_the_metrics(known: tuple[Service, httpx.AsyncClient]) -> None:
    _, http = known
    await lookup(http, "web", lookup_body(("userId", "u1", True)))
    await lookup(http, "web", lookup_body(("userId", "nobody", True)))
    await lookup(http, "web", lookup_body(("userId", "u1", True)), token="bad-token-0000")
    text = (await http.get("/metrics")).text
    for result in ("found", "unknown", "rejected"):
        assert f'destkit_profile_lookups_total{{result="{result}"}} 1.0' in text


# --- hostile lookups, through a real uvicorn on 127.0.0.1 -----------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    options = {
        "write_keys": [KEY],
        "edge_tokens": [TOKEN],
        "lookup_max_bytes": 4096,
        "lookup_max_events": 3,
        "lookup_max_identities": 5,
    }
    service = Service({"serve": options, "destinations": destinations()}, state=str(tmp_path / "state.db"), grace=5)
    with LoopbackServer(app=service.app) as server:
        yield server.url


def many(count: int) -> dict[str, Any]:
    return {"events": [lookup_body(("userId", f"u{n}", True))["event"] for n in range(count)]}


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (json.dumps(many(3)).encode(), 200, None),
        (json.dumps(many(4)).encode(), 413, "at most 3 events (serve.lookup_max_events)"),
        # each identity is a read of the store: one event naming many is bounded too
        (json.dumps(lookup_body(*((f"ns{n}", "u", n == 0) for n in range(5)))).encode(), 200, None),
        (json.dumps(lookup_body(*((f"ns{n}", "u", n == 0) for n in range(6)))).encode(), 413, "at most 5 identities"),
        (json.dumps({"events": [lookup_body(("a", "1", True), ("b", "2", False))["event"]] * 3}).encode(), 413, "this one 6"),
        (json.dumps(lookup_body(("userId", "x" * 5000, True))).encode(), 413, "at most 4,096 bytes (serve.lookup_max_bytes)"),
        (b'{"event": {"xdm": {"identityMap": {"userId": [{"id": "\\ud800"}]}}}}', 400, "not valid Unicode"),
        (b'{"event": {"xdm": {"identityMap": {"userId": [{"id": "u", "n": NaN}]}}}}', 400, "NaN is not a JSON number"),
        (b'{"event": ' + b"[" * 980 + b"]" * 980 + b"}", 400, "nested deeper"),
    ],
)
def test_lookups_are_bounded_and_parsed_strictly(served: str, content: bytes, status: int, words: str | None) -> None:
    answer = httpx.post(f"{served}/ee/v2/interact?dataStreamId=web", content=content, timeout=10)
    assert answer.status_code == status
    if words is not None:
        assert words in answer.json()["detail"]


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(b"", 413), (b"Authorization: Bearer wrong-token\r\n", 401), (f"Authorization: Bearer {TOKEN}\r\n".encode(), 413)],
)
def test_a_lookup_is_authenticated_and_sized_before_its_body_is_read(served: str, authorization: bytes, status: int) -> None:
    head = b"POST /ee/v2/interact?dataStreamId=web HTTP/1.1\r\nHost: destkit\r\nContent-Length: 1073741824\r\n"
    answer = exchange(served, head + authorization + b"\r\n")  # the body never comes
    assert answer.startswith(b"HTTP/1.1 %d " % status)
