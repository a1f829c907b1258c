"""One encoder for a path segment, one check for a path appended to a URL."""

from __future__ import annotations

import pytest

from destkit import PayloadValidationError
from destkit.urlpaths import check_relative_path, expand_path, path_segment


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("u1", "u1"),
        ("a/b", "a%2Fb"),
        ("a?b#c", "a%3Fb%23c"),
        ("100%", "100%25"),
        ("..a", "..a"),
        ("tom&jerry", "tom%26jerry"),
    ],
)
def test_a_value_becomes_exactly_one_segment(value: str, segment: str) -> None:
    assert path_segment(value) == segment


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_values_that_cannot_be_one_segment_are_refused(value: str) -> None:
    with pytest.raises(PayloadValidationError, match="cannot be a URL path segment"):
        path_segment(value, "id")


def test_placeholders_are_filled_with_encoded_segments() -> None:
    assert expand_path("/m2/{client}/p/{id}?x={id}", {"client": "acme", "id": "a/b"}) == "/m2/acme/p/a%2Fb?x=a%2Fb"


@pytest.mark.parametrize("value", ["", "/orders", "/orders/42?expand=true", "/a/..b/c", "/@host", "/a%2Fb"])
def test_paths_that_stay_under_the_url_pass(value: str) -> None:
    assert check_relative_path(value) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http://127.0.0.1:9103/stolen", "single '/'"),
        ("//evil.example/x", "single '/'"),
        ("\\\\evil.example\\x", "single '/'"),
        ("/\\evil.example", "backslash"),
        ("@evil.example", "single '/'"),
        ("evil.example/x", "single '/'"),
        ("%2F%2Fevil.example/x", "single '/'"),
        ("/%2Fevil.example/x", "single '/'"),
        ("/%252F/evil.example", "single '/'"),
        ("/%5Cevil.example", "backslash"),
        ("/a/../../admin", "'..'"),
        ("/a/%2E%2E/admin", "'..'"),
        ("/a/%252E%252E/admin", "'..'"),
        ("/a\r\nHost: evil", "control character"),
    ],
)
def test_paths_that_could_leave_the_url_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_relative_path(value)
