"""Adobe Target against its sandbox: real HTTP on 127.0.0.1, through the real runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from destkit import Runtime, Status
from destkit.destinations.adobe_target.sandbox import AdobeTargetSandbox
from destkit.testing import make_event

ALL_TRAITS = {"traits": {"@path": "$.traits"}}


@pytest.fixture
def sandbox() -> Iterator[AdobeTargetSandbox]:
    with AdobeTargetSandbox(profiles=["known-1", {"mbox3rdPartyId": "anon-1", "attributes": {"seen": "web"}}]) as running:
        yield running


def config(sandbox: AdobeTargetSandbox, action: str = "update_profile", attempts: int = 6, **settings: Any) -> dict[str, Any]:
    subscription: dict[str, Any] = {"name": "profiles", "action": action, "trigger": 'type = "identify"', "mapping": ALL_TRAITS}
    if action == "update_profiles_batch":
        subscription["batch"] = {"size": 50, "max_wait": 0.05}
    return {
        "destinations": [
            {
                "name": "target",
                "type": "adobe-target",
                "settings": {"client_code": "acme", "base_url": sandbox.url, "batch_poll_interval": 0.05, **settings},
                "retry": {"max_attempts": attempts, "initial_delay": 0.01, "max_delay": 0.05},
                "subscriptions": [subscription],
            }
        ]
    }


async def deliver(
    sandbox: AdobeTargetSandbox, events: list[dict[str, Any]], action: str = "update_profile", attempts: int = 6, **settings: Any
) -> list[Any]:
    async with Runtime(config(sandbox, action, attempts, **settings)) as runtime:
        results = await runtime.deliver_many(events)
    return [outcomes[0] for outcomes in results]


def attributes(sandbox: AdobeTargetSandbox, third_party_id: str) -> dict[str, str]:
    return {name: value for name, (value, _) in sandbox.profiles[third_party_id].attributes.items()}


AWKWARD = {
    "ampersand": "Smith & Sons",
    "equals": "a=b",
    "plus": "1+1",
    "spaces": "  two  spaces ",
    "percent": "100%",
    "hash": "#1?x=y",
    "unicode": "Zo\u00eb \u2603 \u65e5\u672c",
    "quote": 'it\'s "quoted"',
    "newline": "line1\nline2",
    "name with space": "v",
    "dots.in.name": "v",
}


async def test_awkward_values_arrive_intact(sandbox: AdobeTargetSandbox) -> None:
    (outcome,) = await deliver(sandbox, [make_event("identify", userId="known-1", traits=AWKWARD)])
    assert outcome.status == Status.DELIVERED
    assert attributes(sandbox, "known-1") == AWKWARD


async def test_traits_are_flattened_and_stringified(sandbox: AdobeTargetSandbox) -> None:
    traits = {
        "plan": "pro",
        "seats": 3,
        "score": 19.99,
        "whole": 4.0,
        "vip": True,
        "churned": False,
        "nothing": None,
        "address": {"city": "Paris", "geo": {"lat": 48.85}},
        "tags": ["a", None, "c"],
    }
    (outcome,) = await deliver(sandbox, [make_event("identify", userId="known-1", traits=traits)])
    assert outcome.status == Status.DELIVERED
    assert attributes(sandbox, "known-1") == {
        "plan": "pro",
        "seats": "3",
        "score": "19.99",
        "whole": "4",
        "vip": "true",
        "churned": "false",
        "address.city": "Paris",
        "address.geo.lat": "48.85",
        "tags.0": "a",
        "tags.2": "c",
    }


async def test_the_profile_is_checked_before_it_is_updated(sandbox: AdobeTargetSandbox) -> None:
    await deliver(sandbox, [make_event("identify", userId="known-1", traits={"a": "1"})])
    assert sandbox.stats[("profile_fetch", 200)] == 1
    assert sandbox.stats[("profile_update", 200)] == 1


async def test_a_missing_profile_is_PROFILE_NOT_FOUND_and_nothing_is_sent(sandbox: AdobeTargetSandbox) -> None:
    (outcome,) = await deliver(sandbox, [make_event("identify", userId="stranger", traits={"a": "1"})])
    error = outcome.error
    assert outcome.status == Status.FAILED
    assert error is not None and (error.code, error.status, error.retryable) == ("PROFILE_NOT_FOUND", 404, True)
    assert "'stranger'" in error.message and "up to an hour" in error.message and "14 days" in error.message
    assert outcome.attempts == 1  # retried on a slow schedule, not within seconds
    assert sandbox.stats[("profile_update", 200)] == 0
    assert "stranger" not in sandbox.profiles


async def test_a_profile_becomes_updatable_once_visible() -> None:
    with AdobeTargetSandbox(visibility_delay=0.3) as sandbox:
        created = await deliver(sandbox, [make_event("identify", userId="fresh", traits={"step": "created"})], "upsert_profile")
        assert created[0].status == Status.DELIVERED
        too_soon = await deliver(sandbox, [make_event("identify", userId="fresh", traits={"step": "updated"})])
        assert too_soon[0].error is not None and too_soon[0].error.code == "PROFILE_NOT_FOUND"
        await asyncio.sleep(0.35)
        later = await deliver(sandbox, [make_event("identify", userId="fresh", traits={"step": "updated"})])
        assert later[0].status == Status.DELIVERED
        assert attributes(sandbox, "fresh") == {"step": "updated"}


@pytest.mark.parametrize(
    ("traits", "user_id", "words"),
    [
        ({"n" * 129: "v"}, "known-1", "attribute name"),
        ({"bio": "x" * 257}, "known-1", "traits.bio: value is 257 characters (Adobe Target allows 256"),
        ({"bio": "x" * 256, "ok": "1"}, "k" * 257, "mbox3rdPartyId: String should have at most 256 characters"),
        ({"all": None}, "known-1", "traits: nothing to send"),
        ({f"a{i}": "x" * 250 for i in range(300)}, "known-1", "Adobe Target accepts at most 61440"),
    ],
)
async def test_limits_are_checked_before_any_call(
    sandbox: AdobeTargetSandbox, traits: dict[str, Any], user_id: str, words: str
) -> None:
    (outcome,) = await deliver(sandbox, [make_event("identify", userId=user_id, traits=traits)])
    assert outcome.status == Status.INVALID
    assert outcome.error is not None and outcome.error.code == "PAYLOAD_VALIDATION_FAILED"
    assert words in outcome.error.message
    assert sandbox.stats[("profile_update", 200)] == 0


async def test_a_large_update_goes_by_POST_and_a_small_one_by_GET(sandbox: AdobeTargetSandbox) -> None:
    big = {f"attr{i}": "y" * 200 for i in range(60)}  # ~12 KB once encoded: over GET's 8 KB
    outcomes = await deliver(
        sandbox,
        [make_event("identify", userId="known-1", traits={"small": "1"}), make_event("identify", userId="anon-1", traits=big)],
    )
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.DELIVERED]
    assert attributes(sandbox, "anon-1") == {"seen": "web", **big}
    assert attributes(sandbox, "known-1") == {"small": "1"}


@pytest.mark.parametrize("action", ["update_profile", "upsert_profile", "update_profiles_batch"])
async def test_a_wrong_token_is_INVALID_AUTHENTICATION_and_not_retried(action: str) -> None:
    with AdobeTargetSandbox(profiles=["known-1"], bearer_token="right-token-123") as sandbox:
        (outcome,) = await deliver(
            sandbox, [make_event("identify", userId="known-1", traits={"a": "1"})], action, bearer_token="wrong-token-456"
        )
        assert outcome.status == Status.FAILED
        assert outcome.error is not None and outcome.error.code == "INVALID_AUTHENTICATION"
        assert outcome.attempts == 1
        assert "wrong-token-456" not in outcome.error.message
        (good,) = await deliver(
            sandbox, [make_event("identify", userId="known-1", traits={"a": "1"})], action, bearer_token="right-token-123"
        )
        assert good.status == Status.DELIVERED


@pytest.mark.parametrize("action", ["update_profile", "upsert_profile"])
async def test_injected_faults_are_retried_until_delivered(action: str) -> None:
    # 20% of calls fail; an update makes two calls, so a try fails about a third of the time
    # and ten attempts leave roughly one chance in 700 that one of 40 events runs out.
    with AdobeTargetSandbox(profiles=[f"user-{n}" for n in range(40)], fault_rate=0.2, seed=4, fault_retry_after=0.01) as sandbox:
        events = [make_event("identify", userId=f"user-{n}", traits={"n": n}) for n in range(40)]
        outcomes = await deliver(sandbox, events, action, attempts=10)
        assert [o.status for o in outcomes] == [Status.DELIVERED] * 40
        assert sum(o.attempts for o in outcomes) > 40  # some needed more than one try
        faults = sum(n for (endpoint, status), n in sandbox.stats.items() if status in (429, 500, 503))
        assert faults > 0
        assert all(attributes(sandbox, f"user-{n}") == {"n": str(n)} for n in range(40))


async def test_upsert_creates_the_profile_and_splits_more_than_50_parameters() -> None:
    with AdobeTargetSandbox() as sandbox:
        traits = {f"p{i}": str(i) for i in range(120)}
        (outcome,) = await deliver(sandbox, [make_event("identify", anonymousId="anon-9", traits=traits)], "upsert_profile")
        assert outcome.status == Status.DELIVERED
        assert attributes(sandbox, "anon-9") == traits
        assert sandbox.stats[("delivery", 200)] == 3  # 50 + 50 + 20


async def test_the_batch_creates_and_updates_and_reports_each_event(sandbox: AdobeTargetSandbox) -> None:
    events = [
        make_event("identify", userId="known-1", traits={"plan": "pro"}),
        make_event("identify", userId="brand-new", traits={"plan": "free", "seats": 2}),
        make_event("identify", userId="known-1", traits={"seats": 5}),  # same visitor: waits for the first batch
        make_event("identify", userId="bad", traits={"bio": "x" * 300}),  # refused before sending
    ]
    outcomes = await deliver(sandbox, events, "update_profiles_batch")
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.DELIVERED, Status.DELIVERED, Status.INVALID]
    assert attributes(sandbox, "known-1") == {"plan": "pro", "seats": "5"}
    assert attributes(sandbox, "brand-new") == {"plan": "free", "seats": "2"}
    assert sandbox.stats[("batch_update", 200)] == 2  # one visitor's events go in order, so in two batches


async def test_batch_rows_that_target_reports_failed_fail_their_events_only() -> None:
    status_xml = (
        "<response><batchId>b1</batchId><status>complete</status><failedUpdates>1</failedUpdates>"
        "<row><thirdPartyId>ok-1</thirdPartyId><status>updated</status><message></message></row>"
        "<row><thirdPartyId>no-2</thirdPartyId><status>failed</status><message>value rejected</message></row></response>"
    )

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batchUpdate"):
            body = "<response><success>true</success><batchStatus>https://acme.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b1</batchStatus></response>"
            return httpx.Response(200, text=body)
        return httpx.Response(200, text=status_xml)

    settings = {"client_code": "acme", "batch_poll_interval": 0.01}
    subscription = {"name": "b", "action": "update_profiles_batch", "mapping": ALL_TRAITS, "batch": {"size": 2, "max_wait": 0.05}}
    entry = {
        "name": "t",
        "type": "adobe-target",
        "settings": settings,
        "subscriptions": [subscription],
        "retry": {"max_attempts": 1},
    }
    async with Runtime({"destinations": [entry]}, transport=httpx.MockTransport(respond)) as runtime:
        results = await runtime.deliver_many(
            [make_event("identify", userId="ok-1", traits={"a": "1"}), make_event("identify", userId="no-2", traits={"a": "2"})]
        )
    first, second = (r[0] for r in results)
    assert first.status == Status.DELIVERED
    assert second.status == Status.FAILED
    assert second.error is not None and second.error.code == "BATCH_ROW_FAILED" and "value rejected" in second.error.message


async def test_the_bulk_limit_answers_503_which_is_rate_limiting_and_retried() -> None:
    with AdobeTargetSandbox(profiles=["known-1"]) as sandbox:
        for _ in range(50):
            assert sandbox._over_bulk_limit() is None  # spend the minute's budget
        (outcome,) = await deliver(
            sandbox, [make_event("identify", userId="known-1", traits={"a": "1"})], "update_profiles_batch"
        )
        assert sandbox.stats[("batch_update", 503)] == 1
        assert outcome.error is not None and outcome.error.code == "RATE_LIMITED"
        assert outcome.status == Status.FAILED  # Retry-After (about a minute) exceeds what is waited here


# --- the seed's three identity scenarios ---------------------------------------------------------


async def test_scenario_1_an_anonymous_visitor_who_never_becomes_known(sandbox: AdobeTargetSandbox) -> None:
    (outcome,) = await deliver(sandbox, [make_event("identify", anonymousId="anon-1", traits={"plan": "free"})])
    assert outcome.status == Status.DELIVERED
    assert attributes(sandbox, "anon-1") == {"seen": "web", "plan": "free"}


async def test_scenario_2_a_visitor_known_from_the_first_contact(sandbox: AdobeTargetSandbox) -> None:
    (outcome,) = await deliver(
        sandbox, [make_event("identify", userId="known-1", anonymousId="device-x", traits={"plan": "pro"})]
    )
    assert outcome.status == Status.DELIVERED
    assert attributes(sandbox, "known-1") == {"plan": "pro"}  # keyed by userId, not the device's anonymousId
    assert "device-x" not in sandbox.profiles


async def test_scenario_3_anonymous_then_known_makes_two_profiles() -> None:
    with AdobeTargetSandbox(profiles=["anon-7"]) as sandbox:
        before = await deliver(sandbox, [make_event("identify", anonymousId="anon-7", traits={"stage": "browsing"})])
        sandbox.add_profile("user-7")  # the web integration creates it once the visitor logs in
        after = await deliver(
            sandbox, [make_event("identify", userId="user-7", anonymousId="anon-7", traits={"stage": "customer"})]
        )
        assert [before[0].status, after[0].status] == [Status.DELIVERED, Status.DELIVERED]
        assert attributes(sandbox, "anon-7") == {"stage": "browsing"}
        assert attributes(sandbox, "user-7") == {"stage": "customer"}
