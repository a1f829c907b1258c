"""Adobe Target: keep visitor profiles up to date, keyed by mbox3rdPartyId.

mbox3rdPartyId is the event's userId, falling back on anonymousId, so that profiles created
on the web (at.js or the Web SDK, with the same id) can be updated from the server. Three
actions:

- ``update_profile``: checks that the profile exists, then updates it (Target's single
  profile update never creates a profile; a missing one is ``PROFILE_NOT_FOUND``);
- ``update_profiles_batch``: the bulk profile update API (v2), which also creates profiles;
- ``upsert_profile``: the Delivery API, which creates the profile when it is missing.
"""

from __future__ import annotations

import re

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator

from destkit import DeliveryError, Destination, RateLimited, RequestDefaults
from destkit.errors import error_for_response

from . import update_profile, update_profiles_batch, upsert_profile
from .dry_run import dry_run_answer
from .sandbox import start_sandbox

_CLIENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class Settings(BaseModel):
    client_code: str = Field(description="Your Target client code (Administration > Implementation), e.g. acmeinc.")
    bearer_token: SecretStr | None = Field(
        None,
        description="A profile API token, sent as 'Authorization: Bearer' on every call; needed once "
        "'Require Authentication' is on for profile APIs. Never printed or logged.",
    )
    base_url: str | None = Field(
        None, description="Where Target answers; https://{client_code}.tt.omtrdc.net unless set (the sandbox, tests)."
    )
    batch_poll_interval: float = Field(2.0, gt=0, description="Seconds between two batch status checks.")
    batch_poll_timeout: float = Field(300.0, gt=0, description="Seconds to wait for a batch to complete before retrying it.")

    @field_validator("client_code")
    @classmethod
    def _client_code(cls, value: str) -> str:
        if not _CLIENT_CODE.match(value):
            raise ValueError("must be letters, digits, '-' or '_' (it becomes part of a host name)")
        return value

    @field_validator("bearer_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value  # lets a config write ${ADOBE_TARGET_TOKEN:-}

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def url(self) -> str:
        return (self.base_url or f"https://{self.client_code}.tt.omtrdc.net").rstrip("/")


def request_defaults(settings: Settings) -> RequestDefaults:
    headers = {}
    if settings.bearer_token is not None:
        headers["Authorization"] = f"Bearer {settings.bearer_token.get_secret_value()}"
    return RequestDefaults(base_url=settings.url, headers=headers)


def classify_response(response: httpx.Response) -> DeliveryError:
    """The bulk API says 503 when past its 50 calls a minute: that is rate limiting."""
    error = error_for_response(response)
    if response.status_code == 503 and "/profile/batch" in response.request.url.path:
        return RateLimited(error.message, status=503, retry_after=error.retry_after)
    if response.status_code == 420:  # Delivery API: too many concurrent requests in one session
        return RateLimited(error.message, status=420, retry_after=error.retry_after)
    return error


destination = Destination(
    slug="adobe-target",
    name="Adobe Target",
    description="Update Adobe Target visitor profiles (mbox3rdPartyId = userId, else anonymousId).",
    settings=Settings,
    actions=[update_profile.action, update_profiles_batch.action, upsert_profile.action],
    request_defaults=request_defaults,
    classify_response=classify_response,
    sandbox=start_sandbox,
    dry_run_answer=dry_run_answer,
)
