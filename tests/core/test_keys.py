"""Secrets are compared in constant time, with every known one, whichever matches."""

from __future__ import annotations

import hmac

import pytest

from destkit.keys import KeyRing

KEYS = ["wk-first-0123", "wk-second-4567", "wk-third-8901"]


@pytest.mark.parametrize(
    ("presented", "accepted"),
    [("wk-first-0123", True), ("wk-third-8901", True), ("wk-first-012", False), ("", False), ("wk-\ud800", False)],
)
def test_a_presented_key_is_accepted_only_when_known(presented: str, accepted: bool) -> None:
    assert KeyRing(KEYS).accepts(presented) is accepted


@pytest.mark.parametrize("presented", ["wk-first-0123", "wk-third-8901", "nothing-like-it"])
def test_every_known_key_is_compared_whichever_matches(presented: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    KeyRing(KEYS).accepts(presented)
    assert sorted(compared) == sorted(key.encode() for key in KEYS)


def test_empty_keys_are_left_out() -> None:
    ring = KeyRing(["", "k-1234"])
    assert len(ring) == 1 and not ring.accepts("") and not KeyRing([""])
