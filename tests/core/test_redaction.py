"""Secrets are masked wherever destkit writes text."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from destkit.dryrun import describe_request
from destkit.redaction import MASK, RedactingFilter, Redactor, mask_header, secret_parts, secrets_of


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


@pytest.mark.parametrize(
    ("secret", "parts"),
    [
        ("Bearer tok-1234", {"Bearer tok-1234", "tok-1234"}),
        ("Token token=abcd1234", {"Token token=abcd1234", "token=abcd1234"}),
        ("Basic dXNlcjpwYXNzd29yZA==", {"Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "user:password", "password"}),
        ("plain-secret", {"plain-secret"}),
        ("https://hooks.slack.com/services/T01/B02/XyZ123/", {"/services/T01/B02/XyZ123"}),
        ("https://h.example/in?key=k-5678&x=1", {"/in", "key=k-5678&x=1", "k-5678", "1"}),
        ("https://user:pw-4321@h.example", {"user:pw-4321", "pw-4321"}),
    ],
)
def test_the_parts_of_a_secret_that_may_appear_alone_are_secrets_too(secret: str, parts: set[str]) -> None:
    assert secret_parts(secret) == parts


def test_a_plain_url_setting_gives_only_its_password() -> None:
    class WithUrl(BaseModel):
        url: str

    assert secrets_of(WithUrl(url="https://user:pw-4321@h.example/path?q=1")) == {"user:pw-4321", "pw-4321"}


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("401 invalid token tok-1234", "Bearer tok-1234", f"401 invalid token {MASK}"),
        (
            "POST /services/T01/B02/XyZ123 answered 500",
            "https://hooks.slack.com/services/T01/B02/XyZ123",
            f"POST {MASK} answered 500",
        ),
        (
            "POST https://hooks.slack.com/services/T01/B02/XyZ123",
            "https://hooks.slack.com/services/T01/B02/XyZ123",
            f"POST https://hooks.slack.com{MASK}",
        ),
    ],
)
def test_a_part_of_a_secret_setting_is_masked_in_text(text: str, secret: str, expected: str) -> None:
    assert Redactor(secrets_of(Settings(token=secret, headers={}, nested=[])))(text) == expected


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Bearer abc", f"Bearer {MASK}"),
        ("Proxy-Authorization", "Basic abc", f"Basic {MASK}"),
        ("Cookie", "session=abc; theme=dark", MASK),
        ("X-Api-Key", "abc", MASK),
        ("api_key", "abc", MASK),
        ("X-Auth-Token", "abc", MASK),
        ("Content-Type", "application/json", "application/json"),
    ],
)
def test_credential_headers_are_masked_by_name(name: str, value: str, shown: str) -> None:
    assert mask_header(name, value) == shown


def test_a_dry_run_masks_credential_headers_whatever_set_them() -> None:
    request = httpx.Request("GET", "https://api.example/x", headers={"X-Api-Key": "not-a-setting", "Cookie": "sid=s3"})
    printed = describe_request(request, Redactor())
    assert "not-a-setting" not in printed and "sid=s3" not in printed and f"X-Api-Key: {MASK}" in printed
