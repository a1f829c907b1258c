"""Custom Personalization (with and without attributes) and Adobe Target on the edge: Engage
audiences and mapped attributes kept per identity in a real state store (both backends)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from destkit import Runtime
from destkit.destinations.adobe_target_edge import destination as target_edge
from destkit.destinations.custom_personalization import destination, destination_with_attributes
from destkit.registry import Registry
from destkit.state import StoredProfile, open_store
from destkit.testing import make_event, run_action

SETTINGS = {"datastream_id": "web-prod"}


def personas(key: str) -> dict[str, Any]:
    return {"personas": {"computation_class": "audience", "computation_id": f"aud_{key}", "computation_key": key}}


def audience_identify(key: str, member: bool, **ids: str) -> dict[str, Any]:
    return make_event("identify", traits={key: member}, context=personas(key), **(ids or {"userId": "u1"}))


def audience_track(key: str, entered: bool, flag: bool | None = None, **ids: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"audience_key": key}
    if flag is not None:
        properties[key] = flag
    name = "Audience Entered" if entered else "Audience Exited"
    return make_event("track", event=name, properties=properties, context=personas(key), **(ids or {"userId": "u1"}))


def stored(store: str, slug: str, namespace: str, identity: str) -> StoredProfile | None:
    async def read() -> StoredProfile | None:
        async with open_store(store) as opened:
            return await opened.profile(slug, namespace, identity)

    return asyncio.run(read())


def count(store: str, slug: str) -> int:
    async def read() -> int:
        async with open_store(store) as opened:
            return await opened.profile_count(slug)

    return asyncio.run(read())


def segments(store: str, namespace: str, identity: str, slug: str = "custom-personalization") -> list[str] | None:
    profile = stored(store, slug, namespace, identity)
    return None if profile is None else profile.segments


@pytest.fixture
def store(state_location: str) -> str:
    """Where the profiles are kept: each run opens the store, as a replay or a service does."""
    return state_location


def run(store: str, event: dict[str, Any], plugin: Any = destination, action: str = "sync_audiences", **kw: Any) -> Any:
    return run_action(plugin, action, event, settings=SETTINGS, state=store, **kw)


@pytest.mark.parametrize("plugin", [destination, destination_with_attributes, target_edge])
@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([audience_identify("vip", True)], ["vip"]),
        ([audience_identify("vip", True), audience_identify("vip", False)], []),
        ([audience_track("vip", True, True)], ["vip"]),
        ([audience_track("vip", True)], ["vip"]),  # no flag: the event name says it
        ([audience_track("vip", True, True), audience_track("vip", False, False)], []),
        ([audience_identify("vip", True), audience_track("churn", True, True), audience_identify("vip", True)], ["vip", "churn"]),
        ([audience_identify("vip", True), audience_identify("churn", True), audience_track("vip", False)], ["churn"]),
    ],
)
def test_engage_audience_events_enter_and_leave(
    store: str, plugin: Any, events: list[dict[str, Any]], expected: list[str]
) -> None:
    for event in events:
        assert run(store, event, plugin).outcome.status == "delivered"
    assert segments(store, "userId", "u1", plugin.slug) == expected
    assert run(store, events[0], plugin).requests == []  # nothing leaves the machine


def test_each_identity_of_the_event_gets_the_profile(store: str) -> None:
    run(store, audience_identify("vip", True, userId="u1", anonymousId="a1"))
    run(store, audience_identify("churn", True, anonymousId="a2"))
    assert segments(store, "userId", "u1") == ["vip"]
    assert segments(store, "anonymousId", "a1") == ["vip"]
    assert segments(store, "anonymousId", "a2") == ["churn"]
    assert segments(store, "userId", "a2") is None


def test_identities_and_the_reported_id_can_be_mapped(store: str) -> None:
    event = audience_identify("vip", True, userId="u1")
    event["context"]["traits"] = {"email": "ana@example.com"}
    mapping = {
        "identities": {"Email": {"@path": "$.context.traits.email"}, "CRMID": {"@path": "$.userId"}},
        "audience_id": {"@path": "$.context.personas.computation_id"},
    }
    assert run(store, event, mapping=mapping).outcome.status == "delivered"
    assert segments(store, "Email", "ana@example.com") == ["aud_vip"]
    assert segments(store, "CRMID", "u1") == ["aud_vip"]
    assert segments(store, "userId", "u1") is None


def test_a_null_user_id_is_left_out(store: str) -> None:
    event = audience_identify("vip", True, anonymousId="a1")
    event["userId"] = None
    assert run(store, event).outcome.status == "delivered"
    assert count(store, "custom-personalization") == 1
    assert segments(store, "anonymousId", "a1") == ["vip"]


@pytest.mark.parametrize(
    ("event", "mapping", "words"),
    [
        (make_event("identify", userId="u1", traits={"plan": "pro"}), None, "nothing to keep"),
        (make_event("identify", userId="u1", traits={"vip": "yes"}, context=personas("vip")), None, "no membership to read"),
        (audience_identify("vip", True), {"identities": {"Email": {"@path": "$.traits.email"}}}, "identities: none has a value"),
    ],
)
def test_events_it_cannot_keep_are_invalid_and_name_why(
    store: str, event: dict[str, Any], mapping: dict[str, Any] | None, words: str
) -> None:
    outcome = run(store, event, mapping=mapping).outcome
    assert (outcome.status, outcome.error.code) == ("invalid", "PAYLOAD_VALIDATION_FAILED")
    assert words in outcome.error.message
    assert count(store, "custom-personalization") == 0


def test_attributes_are_kept_and_a_null_removes_one(store: str) -> None:
    mapping = {"attributes": {"plan": {"@path": "$.traits.plan"}, "seats": {"@path": "$.traits.seats"}}}
    first = make_event("identify", userId="u1", traits={"plan": "pro", "seats": 3})
    second = make_event("identify", userId="u1", traits={"plan": None})
    for event in (first, second):
        outcome = run(store, event, destination_with_attributes, "sync_profile", mapping=mapping).outcome
        assert outcome.status == "delivered"
    profile = stored(store, "custom-personalization-with-attributes", "userId", "u1")
    assert profile is not None and (profile.attributes, profile.segments) == ({"seats": 3}, [])


def test_sync_profile_keeps_audiences_with_the_attributes(store: str) -> None:
    event = audience_identify("vip", True)
    event["traits"]["plan"] = "pro"
    mapping = {"attributes": {"plan": {"@path": "$.traits.plan"}}}
    run(store, event, destination_with_attributes, "sync_profile", mapping=mapping)
    profile = stored(store, "custom-personalization-with-attributes", "userId", "u1")
    assert profile is not None and (profile.segments, profile.attributes) == (["vip"], {"plan": "pro"})


def test_attributes_must_be_plain_values(store: str) -> None:
    mapping = {"attributes": {"address": {"@path": "$.traits.address"}}}
    event = make_event("identify", userId="u1", traits={"address": {"city": "Lyon"}})
    outcome = run(store, event, destination_with_attributes, "sync_profile", mapping=mapping).outcome
    assert outcome.status == "invalid" and "attributes.address" in outcome.error.message


@pytest.mark.parametrize("plugin", [destination, target_edge])
def test_a_destination_without_attributes_refuses_an_attributes_mapping(plugin: Any) -> None:
    config = {
        "destinations": [
            {
                "name": "edge",
                "type": plugin.slug,
                "settings": SETTINGS,
                "subscriptions": [{"name": "s", "action": "sync_audiences", "mapping": {"attributes": {"@path": "$.traits"}}}],
            }
        ]
    }
    with pytest.raises(Exception, match="mapping names field\\(s\\) attributes"):
        Runtime(config, registry=Registry.of(plugin))


def test_without_a_state_store_the_outcome_says_so() -> None:
    outcome = run_action(destination, "sync_audiences", audience_identify("vip", True), settings=SETTINGS).outcome
    assert outcome.error is not None
    assert (outcome.status, outcome.error.code, outcome.error.retryable) == ("failed", "STATE_REQUIRED", False)
    assert "state store" in outcome.error.message


async def test_a_dry_run_prints_the_change_and_keeps_nothing() -> None:
    out = io.StringIO()
    config = {"destinations": [{"name": "cp", "type": "custom-personalization", "settings": SETTINGS}]}
    async with Runtime(config, registry=Registry.of(destination), dry_run=out) as runtime:
        (outcome,) = await runtime.deliver(audience_track("vip", False, False, userId="u9"))
    assert outcome.status == "delivered"
    assert out.getvalue() == "PROFILE cp  userId=u9  -vip\n"


def test_the_presets_subscribe_engage_audience_events_only(tmp_path: Path) -> None:
    config = {"destinations": [{"name": "cp", "type": "custom-personalization", "settings": SETTINGS}]}
    runtime = Runtime(config, registry=Registry.of(destination), state=tmp_path / "s.db")
    (sub,) = runtime.subscriptions
    assert sub.trigger(audience_identify("vip", True))
    assert sub.trigger(audience_track("vip", False))
    assert not sub.trigger(make_event("identify", userId="u1", traits={"vip": True}))
    assert not sub.trigger(make_event("track", userId="u1", event="Order Completed", context=personas("vip")))
