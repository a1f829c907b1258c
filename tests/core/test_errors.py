"""Reading HTTP answers into errors, and the exception tree's promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from destkit import ConfigError, DeliveryError, DestkitError, MappingError, TriggerSyntaxError
from destkit.errors import error_for_response, parse_retry_after


def answer(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://api.example.com/v1/things?token=abc"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "BAD_REQUEST", False),
        (401, "INVALID_AUTHENTICATION", False),
        (403, "INVALID_AUTHENTICATION", False),
        (404, "NOT_FOUND", False),
        (408, "TIMEOUT", True),
        (409, "CONFLICT", False),
        (413, "PAYLOAD_TOO_LARGE", False),
        (418, "HTTP_418", False),
        (423, "RETRYABLE_ERROR", True),
        (429, "RATE_LIMITED", True),
        (500, "RETRYABLE_ERROR", True),
        (501, "NOT_IMPLEMENTED", False),
        (502, "RETRYABLE_ERROR", True),
        (503, "RETRYABLE_ERROR", True),
        (504, "RETRYABLE_ERROR", True),
    ],
)
def test_status_mapping(status: int, code: str, retryable: bool) -> None:
    error = error_for_response(answer(status))
    assert (error.code, error.status, error.retryable) == (code, status, retryable)


def test_the_message_names_method_path_and_body_but_not_the_query() -> None:
    error = error_for_response(answer(400, json={"error": "name is required"}))
    assert error.message == 'POST /v1/things answered 400: {"error":"name is required"}'


@pytest.mark.parametrize(("header", "expected"), [("12", 12.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), (None, None)])
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(format_datetime(when, usegmt=True))
    assert seconds is not None and 28 <= seconds <= 30


def test_the_tree() -> None:
    assert issubclass(MappingError, ConfigError) and issubclass(TriggerSyntaxError, ConfigError)
    assert issubclass(ConfigError, DestkitError) and issubclass(DeliveryError, DestkitError)
    error = DeliveryError("x", status=500, retryable=True, retry_after=3, code="CUSTOM")
    assert (error.code, error.status, error.retryable, error.retry_after) == ("CUSTOM", 500, True, 3)
    assert DeliveryError.code == "DELIVERY_FAILED"  # an instance's code leaves the class alone
