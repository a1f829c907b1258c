"""HubSpot against its sandbox in a process of its own, over real loopback HTTP: token renewal,
multi-status batches, rate limits and faults, all through the runtime's own transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit import Runtime
from destkit.testing import make_event
from tests.processes import Sandbox

CLIENT = ["--client-id", "client-1", "--client-secret", "secret-0123456789", "--refresh-token", "rt-0123456789"]
OAUTH = {"client_id": "client-1", "client_secret": "secret-0123456789", "refresh_token": "rt-0123456789"}
FAST_RETRIES = {"max_attempts": 8, "initial_delay": 0.05, "max_delay": 0.3, "max_elapsed": 20}


@pytest.fixture
def hubspot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    options: tuple[str, ...] = getattr(request, "param", ())
    sandbox = Sandbox(*CLIENT, "--private-app-token", "pat-0123456789", *options, folder=tmp_path, kind="hubspot")
    try:
        yield sandbox
    finally:
        sandbox.stop()


def config(sandbox: Sandbox, action: str, settings: dict[str, Any], **subscription: Any) -> dict[str, Any]:
    entry = {
        "name": "hubspot",
        "type": "hubspot",
        "settings": {"base_url": sandbox.url, "portal_id": 1234567, **settings},
        "retry": FAST_RETRIES,
        "subscriptions": [{"name": action, "action": action, **subscription}],
    }
    return {"destinations": [entry]}


def identify(n: int, **traits: Any) -> dict[str, Any]:
    return make_event("identify", userId=f"user-{n}", traits={"email": f"person{n}@example.com", "firstName": f"P{n}", **traits})


async def test_an_expired_token_is_renewed_once_for_every_delivery_waiting_on_it(hubspot: Sandbox) -> None:
    settings = {**OAUTH, "access_token": "at-from-last-week"}  # unknown to HubSpot: renewed at the first 401
    async with Runtime(config(hubspot, "upsert_contact", settings, batch={"size": 5, "max_wait": 0.05})) as runtime:
        first = await runtime.deliver_many(identify(n) for n in range(5))
        httpx.post(f"{hubspot.url}/_sandbox/expire-tokens")
        second = await runtime.deliver_many(identify(n) for n in range(5, 15))
    assert {outcomes[0].status for outcomes in first + second} == {"delivered"}
    stats = hubspot.stats()
    assert stats["tokens_issued"] == 2  # one renewal per expiry, shared by every delivery waiting
    assert stats["contacts"] == 15


async def test_a_multi_status_answer_reaches_each_event(hubspot: Sandbox) -> None:
    mapping = {"properties": {"firstname": {"@path": "$.traits.firstName"}, "lifecyclestage": {"@path": "$.traits.stage"}}}
    events = [identify(0, stage="lead"), identify(1, stage="vip"), identify(2), identify(3, email="nope")]
    settings = {"access_token": "pat-0123456789"}
    async with Runtime(
        config(hubspot, "upsert_contact", settings, mapping=mapping, batch={"size": 4, "max_wait": 0.05})
    ) as runtime:
        outcomes = [o[0] for o in await runtime.deliver_many(events)]
    assert [(o.status, o.error and o.error.code) for o in outcomes] == [
        ("delivered", None),
        ("invalid", "PAYLOAD_VALIDATION_FAILED"),  # HubSpot refused it: 'vip' is no lifecycle stage
        ("delivered", None),
        ("invalid", "PAYLOAD_VALIDATION_FAILED"),  # refused before any call: not an email
    ]
    assert outcomes[1].error is not None and "INVALID_OPTION" in outcomes[1].error.message
    assert hubspot.stats()["requests"]["batch_upsert"] == {"207": 1}
    assert hubspot.get("/_sandbox/contacts/person0@example.com")["properties"]["lifecyclestage"] == "lead"


@pytest.mark.parametrize("hubspot", [("--burst", "3", "--window", "0.5")], indirect=True)
async def test_past_the_burst_limit_deliveries_wait_out_the_window_and_go_through(hubspot: Sandbox) -> None:
    events = [make_event("track", userId=f"u{n}", event="Signed Up", properties={"email": f"u{n}@example.com"}) for n in range(9)]
    async with Runtime(config(hubspot, "send_custom_event", {"access_token": "pat-0123456789"})) as runtime:
        outcomes = [o[0] for o in await runtime.deliver_many(events)]
    assert {o.status for o in outcomes} == {"delivered"}
    assert "429" in hubspot.stats()["requests"]["event_send"]  # limited, then let through
    assert len(hubspot.get("/_sandbox/events")) == 9


@pytest.mark.parametrize("hubspot", [("--fault-rate", "0.3", "--seed", "11", "--window", "0.2")], indirect=True)
async def test_injected_faults_are_retried_until_every_event_is_delivered_once(hubspot: Sandbox) -> None:
    events = [
        make_event("track", userId=f"u{n}", event="Signed Up", properties={"email": f"u{n}@example.com"}) for n in range(12)
    ]
    async with Runtime(config(hubspot, "send_custom_event", {"access_token": "pat-0123456789"})) as runtime:
        outcomes = [o[0] for o in await runtime.deliver_many(events)]
    assert {o.status for o in outcomes} == {"delivered"}
    statuses = set(hubspot.stats()["requests"]["event_send"])
    assert statuses & {"500", "502", "503", "429"} and "204" in statuses
    assert len(hubspot.get("/_sandbox/events")) == 12  # a retry after a fault is the same occurrence
