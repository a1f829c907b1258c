"""The standard suite catches each rule broken: a plugin that breaks one fails that check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field, SecretStr

from destkit import (
    Action,
    BadRequest,
    BatchResult,
    Context,
    DeliveryError,
    Destination,
    MappingError,
    RequestDefaults,
    RetryableError,
    error_for_response,
    field,
)
from destkit.testing import StandardSuite, make_event, standard_tests
from destkit.testing.canaries import plant_canaries


class Settings(BaseModel):
    api_key: SecretStr = Field(description="The API key.")


class Payload(BaseModel):
    n: int = field(default_mapping={"@path": "$.properties.n"}, description="A number.")


def defaults(settings: Settings) -> RequestDefaults:
    return RequestDefaults(base_url="https://api.example.com", headers={"X-Api-Key": settings.api_key.get_secret_value()})


async def send(ctx: Context[Settings], payload: Payload) -> None:
    await ctx.http.post("/things", json={"n": payload.n})


def plugin(perform: Any = send, perform_batch: Any = None, mapping: Any = None, **options: Any) -> Destination[Settings]:
    payload: type[BaseModel] = Payload
    if mapping is not None:

        class Mapped(BaseModel):
            n: int = field(default_mapping=mapping, description="A number.")

        payload = Mapped
    action = Action(slug="things", title="Things", description="", payload=payload, perform=perform, perform_batch=perform_batch)
    return Destination(
        slug="things", name="Things", description="...", settings=Settings, actions=[action], request_defaults=defaults, **options
    )


SETTINGS = {"api_key": "key-0123456789"}
EVENTS = [make_event("track", properties={"n": n}) for n in (1, 2, 4)]


def suite(destination: Destination[Any], **options: Any) -> StandardSuite:
    return standard_tests(destination, settings=SETTINGS, events=options.pop("events", EVENTS), **options)()


def test_a_well_behaved_plugin_passes_every_check() -> None:
    checks = suite(plugin())
    checks.test_default_mappings_and_triggers_compile("things")
    checks.test_every_schema_renders()
    checks.test_perform_is_typed_with_the_destinations_settings("things")
    checks.test_a_refused_credential_is_not_retried("things", 401)
    checks.test_rate_limits_and_server_errors_are_retried("things", 503)
    checks.test_no_secret_shows_in_errors_reports_or_logs("things", 500)
    checks.test_a_dry_run_sends_nothing_and_shows_no_secret("things")


def test_a_plugin_that_logs_part_of_a_secret_fails() -> None:
    async def chatty(ctx: Context[Settings], payload: Payload) -> None:
        ctx.logger.info("using the key ending %s", ctx.settings.api_key.get_secret_value()[-16:])
        await send(ctx, payload)

    with pytest.raises(AssertionError, match="a secret setting \\(api_key\\) shows in the logs"):
        suite(plugin(chatty)).test_no_secret_shows_in_errors_reports_or_logs("things", 400)


def test_a_plugin_that_puts_part_of_a_secret_in_its_errors_fails() -> None:
    async def telling(ctx: Context[Settings], payload: Payload) -> None:
        raise BadRequest(f"key {ctx.settings.api_key.get_secret_value()[4:]} refused")

    with pytest.raises(AssertionError, match="shows in the outcome's error"):
        suite(plugin(telling)).test_no_secret_shows_in_errors_reports_or_logs("things", 400)


def test_a_plugin_that_retries_a_refused_credential_fails() -> None:
    def stubborn(response: httpx.Response) -> DeliveryError:
        return RetryableError("try again") if response.status_code == 401 else error_for_response(response)

    with pytest.raises(AssertionError, match="must be INVALID_AUTHENTICATION, not retried; it was RETRYABLE_ERROR after 4"):
        suite(plugin(classify_response=stubborn)).test_a_refused_credential_is_not_retried("things", 401)


def test_a_plugin_that_gives_up_on_a_server_error_fails() -> None:
    def hasty(response: httpx.Response) -> DeliveryError:
        return BadRequest("no") if response.status_code >= 500 else error_for_response(response)

    with pytest.raises(AssertionError, match="a 502 answer must be retried"):
        suite(plugin(classify_response=hasty)).test_rate_limits_and_server_errors_are_retried("things", 502)


def test_a_context_typed_with_any_fails() -> None:
    async def loose(ctx: Context[Any], payload: Payload) -> None:
        await ctx.http.post("/things")

    with pytest.raises(AssertionError, match="takes Context\\[Any\\], but the destination's settings are Settings"):
        suite(plugin(loose)).test_perform_is_typed_with_the_destinations_settings("things")


def test_a_batch_answered_out_of_order_fails() -> None:
    async def refuse_odd_reversed(ctx: Context[Settings], payloads: list[Payload]) -> Sequence[BatchResult]:
        results: list[BatchResult] = [BadRequest("odd") if p.n % 2 else None for p in payloads]
        return results[::-1]

    with pytest.raises(AssertionError, match="one result per payload, in the payloads' order"):
        suite(plugin(perform=None, perform_batch=refuse_odd_reversed)).test_perform_batch_gives_one_result_per_payload_in_order(
            "things"
        )


def test_a_dry_run_that_fails_on_the_answers_it_gets_fails() -> None:
    async def reads_an_id(ctx: Context[Settings], payload: Payload) -> None:
        answer = await ctx.http.post("/things", json={"n": payload.n})
        answer.json()["id"]

    with pytest.raises(AssertionError, match="a dry run of things was failed"):
        suite(plugin(reads_an_id)).test_a_dry_run_sends_nothing_and_shows_no_secret("things")


def test_a_default_mapping_that_does_not_compile_fails() -> None:
    with pytest.raises(MappingError, match="unknown directive @iff"):
        suite(plugin(mapping={"@iff": 1})).test_default_mappings_and_triggers_compile("things")


def test_no_event_for_an_action_says_what_to_give() -> None:
    with pytest.raises(AssertionError, match="no event makes a valid payload for 'things': give one in events="):
        suite(plugin(), events=[]).test_a_refused_credential_is_not_retried("things", 401)


class Many(BaseModel):
    api_key: SecretStr
    headers: dict[str, SecretStr] = {}
    url: SecretStr | None = None


@pytest.mark.parametrize(
    ("settings", "planted"),
    [
        ({"api_key": "k-1"}, {"api_key": "k-1", "url": ""}),
        ({"api_key": "k-1", "headers": {"A": "1"}}, {"api_key": "k-1", "headers.A": "1", "url": ""}),
        ({"api_key": "k-1", "url": "https://hooks.example.com/T/B/x"}, {"api_key": "k-1", "url": "https://hooks.example.com/T/B/x"}),
    ],
)
def test_canaries_are_planted_in_every_secret_keeping_its_form(settings: dict[str, Any], planted: dict[str, str]) -> None:
    canaries = plant_canaries(Many, settings)
    assert sorted(canaries.planted) == sorted(planted)
    for name, given in planted.items():
        key, _, entry = name.partition(".")
        value = canaries.settings[key][entry] if entry else canaries.settings[key]
        assert canaries.marker in value and value.startswith(given)


def test_a_part_of_the_marker_is_found_but_not_other_text() -> None:
    canaries = plant_canaries(Many, {"api_key": "k-1"})
    assert canaries.find_in(f"key ...{canaries.marker[-8:]} refused") is not None
    assert canaries.find_in(f"key ...{canaries.marker[-7:]} refused") is None
