"""The HubSpot sandbox answers as HubSpot documents: tokens, batch upserts, events, limits, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from destkit.destinations.hubspot.sandbox import MAX_BODY, HubSpotSandbox

PRIVATE = "pat-sandbox-0123"
OAUTH = {"client_id": "client-1", "client_secret": "secret-1", "refresh_tokens": ["rt-1"]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sandbox(clock: Clock, **options: Any) -> HubSpotSandbox:
    return HubSpotSandbox(private_tokens=[PRIVATE], clock=clock, **{**OAUTH, **options})


@pytest.fixture
async def hub(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = sandbox(clock).app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hubspot.test") as client:
        yield client


def auth(token: str = PRIVATE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def contact(email: str, trace: str | None = None, **properties: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"idProperty": "email", "id": email, "properties": properties}
    if trace is not None:
        item["objectWriteTraceId"] = trace
    return item


UPSERT = "/crm/v3/objects/contacts/batch/upsert"
TOKEN = {"grant_type": "refresh_token", "client_id": "client-1", "client_secret": "secret-1", "refresh_token": "rt-1"}


async def test_a_refresh_token_renews_access_tokens_that_expire(hub: httpx.AsyncClient, clock: Clock) -> None:
    answer = (await hub.post("/oauth/v3/token", data=TOKEN)).json()
    assert (answer["token_type"], answer["expires_in"], answer["refresh_token"]) == ("bearer", 1800, "rt-1")
    token = answer["access_token"]
    assert (await hub.get("/crm/v3/objects/contacts", headers=auth(token))).status_code == 200
    clock.now += 1800
    expired = await hub.get("/crm/v3/objects/contacts", headers=auth(token))
    assert (expired.status_code, expired.json()["category"]) == (401, "EXPIRED_AUTHENTICATION")
    unknown = await hub.get("/crm/v3/objects/contacts", headers=auth("made-up"))
    assert (unknown.status_code, unknown.json()["category"]) == (401, "INVALID_AUTHENTICATION")


@pytest.mark.parametrize(
    ("change", "status"),
    [({"refresh_token": "rt-other"}, "BAD_REFRESH_TOKEN"), ({"client_secret": "nope"}, "BAD_CLIENT_SECRET")],
)
async def test_a_wrong_refresh_is_refused(hub: httpx.AsyncClient, change: dict[str, str], status: str) -> None:
    answer = await hub.post("/oauth/v3/token", data={**TOKEN, **change})
    assert (answer.status_code, answer.json()["status"]) == (400, status)


async def test_the_token_endpoint_takes_no_parameters_in_its_query(hub: httpx.AsyncClient) -> None:
    assert (await hub.post("/oauth/v3/token", params=TOKEN)).status_code == 400


async def test_upserting_creates_then_updates_a_contact_by_email_whatever_its_case(hub: httpx.AsyncClient) -> None:
    first = await hub.post(UPSERT, json={"inputs": [contact("ada@example.com", firstname="Ada")]}, headers=auth())
    again = await hub.post(UPSERT, json={"inputs": [contact("ADA@example.com", lastname="Lovelace")]}, headers=auth())
    assert (first.status_code, first.json()["results"][0]["new"]) == (200, True)
    assert (again.status_code, again.json()["results"][0]["new"]) == (200, False)
    kept = (await hub.get("/_sandbox/contacts/ada@example.com")).json()
    assert kept["properties"] == {"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"} and kept["updates"] == 1
    assert first.headers["x-hubspot-ratelimit-daily-remaining"] == "249999"


async def test_with_trace_ids_each_input_is_answered_on_its_own(hub: httpx.AsyncClient) -> None:
    inputs = [contact("a@example.com", "t0"), contact("not-an-email", "t1"), contact("c@example.com", "t2", nickname="C")]
    answer = await hub.post(UPSERT, json={"inputs": inputs}, headers=auth())
    body = answer.json()
    assert answer.status_code == 207 and body["numErrors"] == 2
    assert [result["objectWriteTraceId"] for result in body["results"]] == ["t0"]
    assert [(e["context"]["objectWriteTraceId"], [d["code"] for d in e["errors"]]) for e in body["errors"]] == [
        (["t1"], ["INVALID_EMAIL"]),
        (["t2"], ["PROPERTY_DOESNT_EXIST"]),
    ]


async def test_without_trace_ids_one_bad_input_refuses_the_batch(hub: httpx.AsyncClient) -> None:
    answer = await hub.post(
        UPSERT, json={"inputs": [contact("a@example.com"), contact("b@example.com", lifecyclestage="vip")]}, headers=auth()
    )
    assert (answer.status_code, answer.json()["category"]) == (400, "VALIDATION_ERROR")
    assert (await hub.get("/_sandbox/contacts")).json() == []  # nothing written


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ([contact("a@example.com", "t0"), contact("A@example.com", "t1")], "Duplicate IDs"),
        ([contact(f"c{n}@example.com", str(n)) for n in range(101)], "Batch input limit is 100"),
    ],
)
async def test_batches_hubspot_refuses_whole(hub: httpx.AsyncClient, inputs: list[dict[str, Any]], words: str) -> None:
    answer = await hub.post(UPSERT, json={"inputs": inputs}, headers=auth())
    assert answer.status_code == 400 and words in answer.json()["message"]


async def test_a_custom_unique_property_identifies_contacts(clock: Clock) -> None:
    app = sandbox(clock, unique_properties=["customer_id"]).app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as hub:
        item = {"idProperty": "customer_id", "id": "c-42", "properties": {"firstname": "Ada"}, "objectWriteTraceId": "0"}
        assert (await hub.post(UPSERT, json={"inputs": [item]}, headers=auth())).status_code == 200
        other = {**item, "idProperty": "firstname", "id": "Ada"}
        refused = (await hub.post(UPSERT, json={"inputs": [other]}, headers=auth())).json()
        assert refused["errors"][0]["errors"][0]["code"] == "INVALID_ID_PROPERTY"


async def test_an_event_occurrence_is_recorded_once_per_uuid(hub: httpx.AsyncClient) -> None:
    event = {"eventName": "pe1234567_signed_up", "email": "a@example.com", "properties": {"plan": "pro"}, "uuid": "u-1"}
    for _ in range(2):
        assert (await hub.post("/events/v3/send", json=event, headers=auth())).status_code == 204
    assert (await hub.get("/_sandbox/events")).json() == [event]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"eventName": "pe999_signed_up"}, "was not found in portal 1234567"),
        ({"email": None}, "An email, utk or objectId is required"),
        ({"properties": {"Plan": "pro"}}, "Invalid event properties: ['Plan']"),
    ],
)
async def test_an_event_hubspot_cannot_take_is_a_400(hub: httpx.AsyncClient, change: dict[str, Any], words: str) -> None:
    event = {"eventName": "pe1234567_signed_up", "email": "a@example.com", **change}
    answer = await hub.post("/events/v3/send", json=event, headers=auth())
    assert answer.status_code == 400 and words in answer.json()["message"]


async def test_past_the_burst_limit_calls_are_429_with_the_policy_and_its_window(clock: Clock) -> None:
    app = sandbox(clock, burst=2, window=10).app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as hub:
        answers = [await hub.get("/crm/v3/objects/contacts", headers=auth()) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert (
            answers[2].headers["x-hubspot-ratelimit-remaining"],
            answers[2].headers["x-hubspot-ratelimit-interval-milliseconds"],
        ) == ("0", "10000")
        clock.now += 10
        assert (await hub.get("/crm/v3/objects/contacts", headers=auth())).status_code == 200


async def test_a_private_app_past_its_daily_calls_is_429_daily(clock: Clock) -> None:
    app = sandbox(clock, daily=1).app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as hub:
        await hub.get("/crm/v3/objects/contacts", headers=auth())
        answer = await hub.get("/crm/v3/objects/contacts", headers=auth())
        assert (answer.status_code, answer.json()["policyName"], answer.headers["x-hubspot-ratelimit-daily-remaining"]) == (
            429,
            "DAILY",
            "0",
        )


async def test_faults_are_repeatable_with_a_seed(clock: Clock) -> None:
    seen = []
    for _ in range(2):
        app = sandbox(clock, fault_rate=0.5, seed=7, burst=10_000).app
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as hub:
            seen.append([(await hub.get("/crm/v3/objects/contacts", headers=auth())).status_code for _ in range(40)])
    assert seen[0] == seen[1]
    assert {500, 502, 503, 429} <= set(seen[0]) and 200 in seen[0]


async def test_a_body_over_the_limit_is_refused(hub: httpx.AsyncClient) -> None:
    answer = await hub.post(UPSERT, content=b"x" * (MAX_BODY + 1), headers=auth())
    assert answer.status_code == 413
