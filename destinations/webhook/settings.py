"""What an operator configures for a webhook, and the defaults every request takes from it."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from destkit import RequestDefaults


class Settings(BaseModel):
    url: SecretStr = Field(
        description="Where payloads are sent, e.g. https://hooks.example.com/segment. A secret: webhook URLs often carry "
        "their credential in the path or query (Slack's, say), so both are masked wherever destkit writes.",
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent with every request (an Authorization header, say). Treated as secrets.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


def request_defaults(settings: Settings) -> RequestDefaults:
    headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
    return RequestDefaults(base_url=settings.url.get_secret_value(), headers=headers)
