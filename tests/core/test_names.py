"""Near misses get a suggestion; other names get none."""

from __future__ import annotations

import pytest

from destkit.names import did_you_mean


@pytest.mark.parametrize(
    ("name", "known", "said"),
    [
        ("bearer_tokn", ["client_code", "bearer_token", "base_url"], " (did you mean 'bearer_token'?)"),
        ("headrs", ["url", "headers"], " (did you mean 'headers'?)"),
        ("Send", ["send", "send_batch"], " (did you mean 'send'?)"),  # case is ignored when comparing
        ("@iff", ["@if", "@path"], " (did you mean '@if'?)"),
        ("colour", ["url", "headers"], ""),  # a different word
        ("anything", [], ""),
    ],
)
def test_a_near_miss_is_told_the_name_it_probably_meant(name: str, known: list[str], said: str) -> None:
    assert did_you_mean(name, known) == said
