"""Destinations described from their models: what `destinations show` prints and docs are made of."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from destkit.schema import describe_fields


class Settings(BaseModel):
    key: SecretStr = Field(description="Required secret.")
    token: SecretStr | None = Field(None, description="Optional secret.")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Secret values.")
    name: str | None = Field(None, description="Not a secret.")


def test_every_kind_of_secret_setting_is_marked_secret() -> None:
    marked = {row["name"]: row["secret"] for row in describe_fields(Settings)}
    assert marked == {"key": True, "token": True, "headers": True, "name": False}
