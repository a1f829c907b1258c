"""Authentication schemes: Basic from settings, OAuth2 refreshed once for everyone, kept across runs."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from destkit import (
    Action,
    Basic,
    Context,
    Destination,
    MemoryTokenStore,
    OAuth2,
    OAuth2Tokens,
    PluginError,
    Registry,
    RequestDefaults,
    Runtime,
    field,
)
from destkit.state import open_store
from destkit.testing import RecordingTransport, arun_action, make_event, run_action

TOKEN_URL = "https://auth.example.com/token"


class Settings(BaseModel):
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    client_secret: SecretStr = SecretStr("client-secret-0001")
    username: str = "ada"
    password: SecretStr = SecretStr("pa55word-0002")


class Payload(BaseModel):
    name: str = field(default_mapping={"@path": "$.event"}, description="The event's name.")


async def send(ctx: Context[Settings], payload: Payload) -> None:
    await ctx.http.post("/events", json={"name": payload.name})


async def refresh(ctx: Context[Settings], tokens: OAuth2Tokens) -> OAuth2Tokens:
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token or ""}
    answer = await ctx.http.post(TOKEN_URL, data={**form, "client_secret": ctx.settings.client_secret.get_secret_value()})
    return OAuth2Tokens.from_answer(answer.json(), tokens)


def request_defaults(settings: Settings) -> RequestDefaults:
    return RequestDefaults(base_url="https://api.example.com")


ACTION = Action(slug="send", title="Send", description="...", payload=Payload, perform=send)


def plugin(authentication: Any) -> Destination[Settings]:
    return Destination(
        slug="tokened",
        name="Tokened",
        description="...",
        settings=Settings,
        actions=[ACTION],
        request_defaults=request_defaults,
        authentication=authentication,
    )


OAUTH = plugin(OAuth2(refresh_access_token=refresh))
CONFIGURED = {"access_token": "at-configured-1", "refresh_token": "rt-configured-1"}


class Api:
    """A token endpoint and an API that accepts only the newest token, echoing what it refuses."""

    def __init__(self, valid: str = "at-configured-1", expires_in: int = 1800, refusing: bool = False) -> None:
        self.valid = valid
        self.expires_in = expires_in
        self.refusing = refusing
        self.refreshes = 0
        self.seen: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # deliveries overlap, as they do over a network
        if str(request.url) == TOKEN_URL:
            if self.refusing:
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.refreshes += 1
            self.valid = f"at-renewed-{self.refreshes}"
            return httpx.Response(200, json={"access_token": self.valid, "expires_in": self.expires_in, "token_type": "bearer"})
        used = request.headers.get("authorization", "")
        self.seen.append(used)
        if used != f"Bearer {self.valid}":
            return httpx.Response(401, json={"message": f"expired token in {used}"})
        return httpx.Response(200, json={})


def test_basic_authentication_is_sent_and_its_encoded_form_masked() -> None:
    encoded = base64.b64encode(b"ada:pa55word-0002").decode()
    run = run_action(
        plugin(Basic()),
        "send",
        make_event("track"),
        respond=lambda request: httpx.Response(403, text=f"refused {request.headers['authorization']}"),
    )
    assert run.requests[0].headers["authorization"] == f"Basic {encoded}"
    assert run.outcome.error is not None and run.outcome.error.code == "INVALID_AUTHENTICATION"
    assert encoded not in run.outcome.error.message and "refused Basic ***" in run.outcome.error.message


def test_a_401_refreshes_the_token_once_and_the_delivery_goes_through() -> None:
    api = Api(valid="at-someone-else")
    run = run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api)
    assert (run.outcome.status, run.outcome.attempts, api.refreshes) == ("delivered", 1, 1)
    assert api.seen == ["Bearer at-configured-1", "Bearer at-renewed-1"]
    token_request = next(r for r in run.requests if str(r.url) == TOKEN_URL)
    assert "authorization" not in token_request.headers  # the token endpoint gets no access token


async def test_concurrent_deliveries_share_one_refresh() -> None:
    api = Api(valid="at-someone-else")
    subscription = {"name": "all", "action": "send", "trigger": 'type = "track"'}
    config = {"destinations": [{"name": "t", "type": "tokened", "settings": CONFIGURED, "subscriptions": [subscription]}]}
    async with Runtime(config, registry=Registry.of(OAUTH), transport=RecordingTransport(api)) as runtime:
        outcomes = await runtime.deliver_many(make_event("track", userId=f"u{n}") for n in range(20))
    assert {o[0].status for o in outcomes} == {"delivered"}
    assert api.refreshes == 1
    assert api.seen.count("Bearer at-renewed-1") == 20


def test_a_renewed_token_that_is_refused_too_is_invalid_authentication_without_more_tries() -> None:
    api = Api(valid="nothing works")

    def refuse_everything(request: httpx.Request) -> Any:
        answer = api(request)
        api.valid = "nothing works"
        return answer

    run = run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=refuse_everything)
    assert run.outcome.error is not None
    assert (run.outcome.status, run.outcome.error.code, run.outcome.attempts, api.refreshes) == (
        "failed",
        "INVALID_AUTHENTICATION",
        1,
        1,
    )
    assert "at-renewed-1" not in run.outcome.error.message  # a token learnt at run time is masked too


def test_a_refresh_the_token_endpoint_refuses_is_invalid_authentication() -> None:
    api = Api(valid="at-someone-else", refusing=True)
    run = run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api)
    assert run.outcome.error is not None
    assert (run.outcome.error.code, run.outcome.error.retryable) == ("INVALID_AUTHENTICATION", False)
    assert "could not be refreshed" in run.outcome.error.message and "invalid_grant" in run.outcome.error.message


def test_without_a_refresh_token_a_401_is_the_answer() -> None:
    api = Api(valid="at-someone-else")
    run = run_action(OAUTH, "send", make_event("track"), settings={"access_token": "at-private-app"}, respond=api)
    assert run.outcome.error is not None
    assert (run.outcome.error.code, api.refreshes, len(api.seen)) == ("INVALID_AUTHENTICATION", 0, 1)


def test_the_next_run_starts_from_the_refreshed_token() -> None:
    api, tokens = Api(valid="at-someone-else"), MemoryTokenStore()
    run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=tokens)
    api.seen.clear()
    again = run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=tokens)
    assert (again.outcome.status, api.seen, api.refreshes) == ("delivered", ["Bearer at-renewed-1"], 1)


def test_a_saved_token_past_its_expiry_is_refreshed_before_it_is_used() -> None:
    api, tokens = Api(valid="at-someone-else"), MemoryTokenStore()
    run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=tokens)
    saved = asyncio.run(tokens.load_token("oauth2/tokened"))
    assert saved is not None and saved["access_token"] == "at-renewed-1"
    asyncio.run(tokens.save_token("oauth2/tokened", {**saved, "expires_at": time.time() - 1}))  # its half hour went by
    api.seen.clear()
    run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=tokens)
    assert api.seen == ["Bearer at-renewed-2"]  # refreshed first: no request carried the dead token


def test_saved_tokens_from_another_refresh_token_are_not_used() -> None:
    api, tokens = Api(valid="at-someone-else"), MemoryTokenStore()
    run_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=tokens)
    api.seen.clear()
    api.valid = "at-new-grant"
    reauthorized = {"access_token": "at-new-grant", "refresh_token": "rt-new-grant"}
    run_action(OAUTH, "send", make_event("track"), settings=reauthorized, respond=api, tokens=tokens)
    assert api.seen == ["Bearer at-new-grant"]


def test_tokens_announce_their_expiry() -> None:
    now = time.time()
    tokens = OAuth2Tokens.from_answer({"access_token": "a", "expires_in": 1800}, OAuth2Tokens("old", "r"), now)
    assert tokens == OAuth2Tokens("a", "r", now + 1740)  # a minute early
    assert not tokens.expired(now + 1739) and tokens.expired(now + 1740) and OAuth2Tokens("").expired(now)
    brief = OAuth2Tokens.from_answer({"access_token": "a", "expires_in": 30}, tokens, now)
    assert brief.expires_at == now + 15 and not brief.expired(now)  # half of a short life


@pytest.mark.parametrize(
    ("authentication", "words"),
    [
        (OAuth2(), "needs refresh_access_token"),
        (Basic(username="login"), "reads setting(s) login"),
        (OAuth2(refresh_access_token=refresh, access_token="token"), "reads setting(s) token"),
    ],
)
def test_a_scheme_reading_settings_the_plugin_lacks_is_refused(authentication: Any, words: str) -> None:
    with pytest.raises(PluginError, match=words.replace("(", "\\(").replace(")", "\\)")):
        plugin(authentication)


async def test_an_async_test_can_run_an_oauth2_action_too() -> None:
    run = await arun_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=Api())
    assert run.outcome.status == "delivered"


async def test_a_state_store_keeps_refreshed_tokens_for_the_next_run(state_location: str) -> None:
    api = Api(valid="at-someone-else")
    for _ in range(2):  # two runs, as two processes would be, on one store
        async with open_store(state_location) as store:
            run = await arun_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, tokens=store)
            assert run.outcome.status == "delivered"
    assert api.refreshes == 1 and api.seen[-1] == "Bearer at-renewed-1"


async def test_a_runtime_keeps_refreshed_tokens_in_its_state_store_by_default(state_location: str) -> None:
    """No tokens= given: a restart on the same store starts from the refreshed token, not the expired one."""
    api = Api(valid="at-someone-else")
    for _ in range(2):
        run = await arun_action(OAUTH, "send", make_event("track"), settings=CONFIGURED, respond=api, state=state_location)
        assert run.outcome.status == "delivered"
    assert api.refreshes == 1 and api.seen[-1] == "Bearer at-renewed-1"
