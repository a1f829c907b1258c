"""Secrets are masked wherever destkit writes text."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, SecretStr

from destkit.redaction import MASK, RedactingFilter, Redactor, secrets_of


class Inner(BaseModel):
    password: SecretStr


class Settings(BaseModel):
    token: SecretStr
    headers: dict[str, SecretStr]
    nested: list[Inner]
    plain: str = "not-secret-value"


def test_secrets_are_found_wherever_they_nest() -> None:
    settings = Settings(token="tok-1234", headers={"A": "hdr-5678"}, nested=[Inner(password="pw-9999")])
    assert secrets_of(settings) == {"tok-1234", "hdr-5678", "pw-9999"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer s3cr3t key/1", f"Bearer {MASK}"),
        ("token=s3cr3t%20key%2F1", f"token={MASK}"),  # URL-encoded
        ("token=s3cr3t+key%2F1", f"token={MASK}"),  # form-encoded
        ("nothing here", "nothing here"),
    ],
)
def test_redactor_masks_plain_and_encoded_forms(text: str, expected: str) -> None:
    assert Redactor(["s3cr3t key/1"])(text) == expected


def test_short_values_are_not_treated_as_secrets() -> None:
    assert Redactor(["abc"])("abc abc") == "abc abc"


def test_a_secret_containing_another_is_masked_whole() -> None:
    assert Redactor(["key-1", "key-12345"])("key-12345") == MASK


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("destkit.test.redaction")
    logger.addFilter(RedactingFilter(Redactor(["hunter2-secret"])))
    with caplog.at_level(logging.INFO, logger="destkit.test.redaction"):
        logger.info("calling with %s", "hunter2-secret")
    assert caplog.records[0].getMessage() == f"calling with {MASK}"
