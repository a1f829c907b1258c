"""Every command group, as a real process, answers a mistyped command with the one it probably meant."""

from __future__ import annotations

import subprocess

import pytest

from tests.processes import DESTKIT


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (["replya"], "No such command 'replya' (did you mean 'replay'?)."),
        (["dlq", "purg"], "No such command 'purg' (did you mean 'purge'?)."),
        (["state", "stauts"], "No such command 'stauts' (did you mean 'status'?)."),
        (["sandbox", "hubspt"], "No such command 'hubspt' (did you mean 'hubspot'?)."),  # a plugin's slug
        (["nothinglike"], "No such command 'nothinglike'."),
    ],
)
def test_a_mistyped_command_is_told_the_command_it_probably_meant(typed: list[str], said: str) -> None:
    result = subprocess.run([DESTKIT, *typed], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().endswith(f"Error: {said}"), result.stderr
