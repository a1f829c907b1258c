"""Webhook: POST each mapped event (or a batch of them) as JSON to a URL of yours.

The smallest complete destination, and the one to copy when writing a new plugin: settings,
request defaults, one module per action, presets.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from destkit import Destination, Preset, RequestDefaults

from . import send, send_batch


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


destination = Destination(
    slug="webhook",
    name="Webhook",
    description="Send events as JSON to any HTTP endpoint.",
    settings=Settings,
    actions=[send.action, send_batch.action],
    presets=[Preset(name="every event", action="send")],
    request_defaults=request_defaults,
)
