"""HubSpot over httpx.MockTransport: what each action sends, and how each answer is read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from destkit import ConfigError
from destkit.destinations.hubspot import destination
from destkit.destinations.hubspot.limits import until_midnight_utc
from destkit.testing import json_reply, make_event, run_action, run_batch

TOKEN = "pat-na1-0123456789"
SETTINGS = {"access_token": TOKEN, "portal_id": 1234567}


def identify(email: str, **traits: Any) -> dict[str, Any]:
    return make_event("identify", userId=f"user-{email}", traits={"email": email, **traits})


def upserted(request: httpx.Request) -> httpx.Response:
    """HubSpot's answer when every input went through: each result under its trace id."""
    inputs = json.loads(request.content)["inputs"]
    results = [
        {"id": str(100 + n), "objectWriteTraceId": item["objectWriteTraceId"], "properties": {}} for n, item in enumerate(inputs)
    ]
    return json_reply(200, {"status": "COMPLETE", "results": results})


def test_upsert_sends_one_batch_of_inputs_by_email_with_the_default_properties() -> None:
    events = [
        identify("Ada@Example.com", firstName="Ada", last_name="Lovelace", phone="+44 1", vip=True),
        identify("grace@example.com", first_name="Grace", company={"name": "Navy"}, address={"postalCode": "20301"}),
    ]
    run = run_batch(destination, "upsert_contact", events, settings=SETTINGS, respond=upserted)
    assert [o.status for o in run.outcomes] == ["delivered", "delivered"]
    (request,) = run.requests
    assert (request.method, request.url.path) == ("POST", "/crm/v3/objects/contacts/batch/upsert")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert run.json_bodies() == [
        {
            "inputs": [
                {
                    "idProperty": "email",
                    "id": "ada@example.com",
                    "properties": {"email": "Ada@Example.com", "firstname": "Ada", "lastname": "Lovelace", "phone": "+44 1"},
                    "objectWriteTraceId": "0",
                },
                {
                    "idProperty": "email",
                    "id": "grace@example.com",
                    "properties": {"email": "grace@example.com", "firstname": "Grace", "company": "Navy", "zip": "20301"},
                    "objectWriteTraceId": "1",
                },
            ]
        }
    ]


def test_a_multi_status_answer_gives_each_event_its_own_result() -> None:
    def partly(request: httpx.Request) -> httpx.Response:
        return json_reply(
            207,
            {
                "status": "COMPLETE",
                "results": [{"id": "101", "objectWriteTraceId": "0", "properties": {}}],
                "numErrors": 2,
                "errors": [
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "errors": [{"message": "lifecyclestage 'vip' is not a valid option", "code": "INVALID_OPTION"}],
                        "context": {"objectWriteTraceId": ["1"]},
                    },
                    {
                        "status": "error",
                        "category": "INTERNAL_ERROR",
                        "message": "try later",
                        "context": {"objectWriteTraceId": ["2"]},
                    },
                ],
            },
        )

    events = [identify(f"p{n}@example.com") for n in range(4)]
    mapping = {"properties": {"lifecyclestage": {"@path": "$.traits.stage"}}}
    run = run_batch(
        destination, "upsert_contact", events, settings=SETTINGS, mapping=mapping, respond=partly, retry={"max_attempts": 1}
    )
    got = [(o.status, o.error and o.error.code) for o in run.outcomes]
    assert got == [
        ("delivered", None),
        ("invalid", "PAYLOAD_VALIDATION_FAILED"),
        ("failed", "BATCH_ROW_FAILED"),
        ("failed", "BATCH_ROW_FAILED"),  # HubSpot said nothing of it: retried
    ]
    refused = run.outcomes[1].error
    assert refused is not None and refused.message == (
        "HubSpot refused contact 'p1@example.com': lifecyclestage 'vip' is not a valid option (INVALID_OPTION)"
    )
    assert "missing from HubSpot's answer" in str(run.outcomes[3].error)


def test_one_contacts_events_in_a_batch_become_one_input_the_later_winning() -> None:
    events = [identify("ada@example.com", plan="free", firstName="Ada"), identify("ADA@example.com", plan="pro")]
    events[1]["userId"] = "someone-else"  # another person, so both land in one batch
    mapping = {"properties": {"plan": {"@path": "$.traits.plan"}, "firstname": {"@path": "$.traits.firstName"}}}
    run = run_batch(destination, "upsert_contact", events, settings=SETTINGS, mapping=mapping, respond=upserted)
    assert [o.status for o in run.outcomes] == ["delivered", "delivered"]
    assert run.json_bodies()[0]["inputs"] == [
        {
            "idProperty": "email",
            "id": "ada@example.com",
            "properties": {"plan": "pro", "firstname": "Ada"},
            "objectWriteTraceId": "0",
        }
    ]


def test_contacts_are_found_by_a_custom_unique_property_too() -> None:
    mapping = {"id_property": "customer_id", "id_value": {"@path": "$.userId"}, "properties": {"n": {"@path": "$.traits.n"}}}
    event = make_event("identify", userId="c-42", traits={"n": 3, "flag": True})
    run = run_action(destination, "upsert_contact", event, settings=SETTINGS, mapping=mapping, respond=upserted)
    assert run.json_bodies()[0]["inputs"] == [
        {"idProperty": "customer_id", "id": "c-42", "properties": {"n": "3"}, "objectWriteTraceId": "0"}
    ]


def test_more_than_a_hundred_contacts_go_in_calls_of_a_hundred() -> None:
    events = [identify(f"c{n}@example.com") for n in range(150)]
    run = run_batch(destination, "upsert_contact", events, settings=SETTINGS, respond=upserted, batch={"size": 150})
    assert [len(body["inputs"]) for body in run.json_bodies()] == [100, 50]
    assert {o.status for o in run.outcomes} == {"delivered"}


def test_a_batch_refused_whole_fails_its_events_and_a_bad_email_stays_invalid() -> None:
    events = [identify("ok@example.com"), identify("not an email")]
    answer = json_reply(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "Invalid input JSON"})
    run = run_batch(destination, "upsert_contact", events, settings=SETTINGS, respond=lambda request: answer)
    assert [(o.status, o.error and o.error.code) for o in run.outcomes] == [
        ("failed", "BAD_REQUEST"),
        ("invalid", "PAYLOAD_VALIDATION_FAILED"),
    ]
    assert (
        run.outcomes[1].error is not None and run.outcomes[1].error.message == "id_value: 'not an email' is not an email address"
    )
    assert [item["id"] for item in run.json_bodies()[0]["inputs"]] == ["ok@example.com"]


def limited(policy: str, **headers: str) -> httpx.Response:
    body = {"status": "error", "message": "You have reached your limit.", "errorType": "RATE_LIMIT", "policyName": policy}
    return json_reply(429, body, headers)


@pytest.mark.parametrize(
    ("answer", "waited"),
    [
        (
            limited(
                "TEN_SECONDLY_ROLLING",
                **{"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
            ),
            10.0,
        ),
        (limited("SECONDLY"), 1.0),
        (limited("TEN_SECONDLY_ROLLING", **{"Retry-After": "3"}), 3.0),
    ],
)
def test_a_burst_limit_waits_out_its_window_then_retries(answer: httpx.Response, waited: float) -> None:
    answers = iter([answer])
    run = run_action(
        destination,
        "upsert_contact",
        identify("a@example.com"),
        settings=SETTINGS,
        respond=lambda r: next(answers, None) or upserted(r),
    )
    assert (run.outcome.status, run.outcome.attempts, run.sleeps) == ("delivered", 2, [waited])


def test_the_daily_limit_is_not_retried_within_the_run() -> None:
    answer = limited("DAILY", **{"X-HubSpot-RateLimit-Daily-Remaining": "0"})
    run = run_action(
        destination,
        "send_custom_event",
        make_event("track", event="Signed Up", properties={"email": "a@example.com"}),
        settings=SETTINGS,
        respond=lambda r: answer,
    )
    error = run.outcome.error
    assert error is not None and (error.code, error.retryable, run.outcome.attempts) == ("RATE_LIMITED", True, 1)
    assert error.retry_after is not None and abs(error.retry_after - until_midnight_utc()) < 60
    assert "daily API calls are spent" in error.message


OAUTH = {
    "refresh_token": "rt-0123456789",
    "client_id": "client-1",
    "client_secret": "cs-0123456789",
    "access_token": "at-old-0123",
}


def test_an_expired_oauth_token_is_renewed_at_the_token_endpoint_and_the_call_retried() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v3/token":
            return json_reply(200, {"access_token": "at-new-0123", "refresh_token": "rt-0123456789", "expires_in": 1800})
        if request.headers["authorization"] != "Bearer at-new-0123":
            return json_reply(
                401,
                {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired",
                    "category": "EXPIRED_AUTHENTICATION",
                },
            )
        return upserted(request)

    run = run_action(destination, "upsert_contact", identify("a@example.com"), settings=OAUTH, respond=answer)
    assert run.outcome.status == "delivered"
    token = next(r for r in run.requests if r.url.path == "/oauth/v3/token")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(token.content.decode())) == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "cs-0123456789",
        "refresh_token": "rt-0123456789",
    }


def test_a_custom_event_is_sent_under_its_internal_name_once_per_message() -> None:
    event = make_event(
        "track",
        event="Order Completed",
        messageId="m-1",
        timestamp="2026-01-20T21:14:16Z",
        properties={"email": "ada@example.com", "orderId": "o-1", "Total Value": 19.99, "coupon": None},
    )
    first = run_action(destination, "send_custom_event", event, settings=SETTINGS, respond=lambda r: httpx.Response(204))
    again = run_action(destination, "send_custom_event", event, settings=SETTINGS, respond=lambda r: httpx.Response(204))
    assert first.outcome.status == "delivered"
    (body,) = first.json_bodies()
    assert first.requests[0].url.path == "/events/v3/send"
    assert body == {
        "eventName": "pe1234567_order_completed",
        "properties": {"email": "ada@example.com", "order_id": "o-1", "total_value": 19.99},
        "email": "ada@example.com",
        "occurredAt": "2026-01-20T21:14:16Z",
        "uuid": body["uuid"],
    }
    assert again.json_bodies()[0]["uuid"] == body["uuid"]  # a replay is the same occurrence


@pytest.mark.parametrize(
    ("settings", "event", "words"),
    [
        ({"access_token": TOKEN}, make_event("track", event="Signed Up", properties={"email": "a@x.io"}), "set portal_id"),
        (
            SETTINGS,
            make_event("track", properties={"email": "a@x.io", "products": [{"sku": "1"}]}),
            "properties.products: HubSpot",
        ),
        (SETTINGS, make_event("track", event="Signed Up"), "no contact to record the event for"),
    ],
)
def test_a_custom_event_hubspot_could_not_take_is_invalid_before_any_call(settings: Any, event: Any, words: str) -> None:
    run = run_action(destination, "send_custom_event", event, settings=settings)
    assert run.outcome.status == "invalid" and not run.requests
    assert run.outcome.error is not None and words in run.outcome.error.message


def test_an_event_with_its_internal_name_needs_no_portal_id() -> None:
    event = make_event("track", event="pe99_signed_up", properties={"email": "a@x.io"})
    run = run_action(
        destination, "send_custom_event", event, settings={"access_token": TOKEN}, respond=lambda r: httpx.Response(204)
    )
    assert run.json_bodies()[0]["eventName"] == "pe99_signed_up"


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({}, "give access_token"),
        ({"refresh_token": "rt"}, "refresh_token needs client_id and client_secret"),
        ({"access_token": "t", "base_url": "api.hubapi.com"}, "base_url: Value error, must start with http"),
    ],
)
def test_settings_that_cannot_work_are_refused_before_any_event(settings: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        run_action(destination, "upsert_contact", identify("a@example.com"), settings=settings)
