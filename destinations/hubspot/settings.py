"""What an operator configures for HubSpot: a private app's token, or OAuth2 tokens that renew."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from destkit import RequestDefaults

API = "https://api.hubapi.com"


class Settings(BaseModel):
    access_token: SecretStr | None = Field(
        None,
        description="A private app's access token, or an OAuth access token (renewed with refresh_token when it "
        "expires or is refused). Never printed or logged.",
    )
    refresh_token: SecretStr | None = Field(
        None, description="An OAuth refresh token; with client_id and client_secret, access tokens are renewed with it."
    )
    client_id: str | None = Field(None, description="The OAuth app's client ID (with refresh_token).")
    client_secret: SecretStr | None = Field(None, description="The OAuth app's client secret (with refresh_token).")
    portal_id: int | None = Field(
        None,
        gt=0,
        description="Your HubSpot account's Hub ID: send_custom_event turns an event name such as 'Order Completed' "
        "into the event's internal name pe<Hub ID>_order_completed.",
    )
    base_url: str = Field(API, description="Where HubSpot's API answers (the sandbox, tests).")
    token_url: str | None = Field(None, description="Where access tokens are renewed: {base_url}/oauth/v3/token unless set.")

    @field_validator("access_token", "refresh_token", "client_secret", "client_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value  # lets a config write ${HUBSPOT_REFRESH_TOKEN:-}

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.refresh_token is not None and (self.client_id is None or self.client_secret is None):
            raise ValueError("refresh_token needs client_id and client_secret to renew access tokens")
        if self.access_token is None and self.refresh_token is None:
            raise ValueError("give access_token (a private app's token), or refresh_token with client_id and client_secret")
        return self

    @property
    def token_endpoint(self) -> str:
        return self.token_url or f"{self.base_url}/oauth/v3/token"


def request_defaults(settings: Settings) -> RequestDefaults:
    return RequestDefaults(base_url=settings.base_url)
