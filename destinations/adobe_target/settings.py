"""What an operator configures for Adobe Target, and the defaults every request takes from it."""

from __future__ import annotations

import re
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr, field_validator

from destkit import Context, RequestDefaults

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


async def test_authentication(ctx: Context[Settings]) -> None:
    """Ask the profile API for a visitor no one has: a 404 (or a profile) means Target knows the
    client code and accepts the token; a 401 or 403 does not."""
    client = quote(ctx.settings.client_code, safe="")
    response = await ctx.http.get(f"/rest/v1/profiles/thirdPartyId/destkit-check?client={client}", raise_for_status=False)
    if response.status_code not in (200, 404):
        raise ctx.http.classify(response)
