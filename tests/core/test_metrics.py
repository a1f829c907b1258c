"""Metric labels come from closed sets: what a client or a remote API chose counts as ``other``."""

from __future__ import annotations

import pytest

from destkit.metrics import OTHER, Labels, ServiceMetrics
from destkit.outcome import ErrorInfo, Outcome, Status


@pytest.mark.parametrize(
    ("value", "label"),
    [("track", "track"), ("purchase", OTHER), ("x" * 10_000, OTHER), (None, OTHER), (3, OTHER)],
)
def test_a_closed_set_keeps_known_values_only(value: object, label: str) -> None:
    assert Labels(["track", "identify"])(value) == label


def test_spare_room_is_bounded() -> None:
    labels = Labels(["KNOWN"], spare=2)
    assert [labels(code) for code in ["A", "B", "C", "A", "KNOWN"]] == ["A", "B", OTHER, "A", "KNOWN"]


def test_outcomes_of_unknown_destinations_and_codes_share_one_series() -> None:
    metrics = ServiceMetrics(["hook"], ["send"])
    outcomes = [
        Outcome(Status.FAILED, f"m{n}", "hook", "send", error=ErrorInfo(f"CODE_{n}", "x", None, False, None)) for n in range(100)
    ]
    metrics.settled([*outcomes, Outcome(Status.DELIVERED, "m", "elsewhere", "?")], 0.1)
    text = metrics.render().decode()
    assert text.count("destkit_errors_total{") == 33  # 32 spare codes, then one "other"
    assert 'destkit_outcomes_total{destination="other",status="delivered",subscription="other"} 1.0' in text
