"""What an operator configures for a webhook, and the defaults every request takes from it."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from destkit import RequestDefaults


class Settings(BaseModel):
    url: str = Field(description="Where payloads are sent, e.g. https://hooks.example.com/segment.")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent with every request (an Authorization header, say). Treated as secrets.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


def request_defaults(settings: Settings) -> RequestDefaults:
    headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
    return RequestDefaults(base_url=settings.url, headers=headers)
