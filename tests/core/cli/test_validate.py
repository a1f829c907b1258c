"""destkit validate as a real process: every mistake of a config told at once, each located,
with a suggestion for a near miss; warnings never change the exit code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.processes import DESTKIT

MISTAKES = """\
runtime: {concurency: 8}
destinations:
  - name: target
    type: adobe-target
    settings: {client_code: acmedemo, bearer_tokn: t-0123456789}
    subscriptions:
      - {name: profiles, action: update_profil}
  - name: hook
    type: webhook
    settings: {url: "https://hooks.example.com", headrs: {X-Key: k-0123456789}}
    retry: {max_attemps: 2}
    subscriptions:
      - name: orders
        action: send
        trigger: 'type = "track" and'
        mapping: {data: {"@iff": {exists: {"@path": "$.userId"}}}}
"""


def validate(folder: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = folder / "destkit.yaml"
    path.write_text(text)
    return subprocess.run([DESTKIT, "validate", "--config", str(path)], capture_output=True, text=True, timeout=60)


def test_validate_tells_every_mistake_with_where_it_is(tmp_path: Path) -> None:
    result = validate(tmp_path, MISTAKES)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    config = str(tmp_path / "destkit.yaml")
    target, hook = "destination 'target' (destinations[0])", "destination 'hook' (destinations[1])"
    expected = [  # the file's shape first, then each destination against its plugin
        f"{config}: {hook}: retry.max_attemps: unknown key (did you mean 'max_attempts'?)",
        f"{config}: runtime.concurency: unknown key (did you mean 'concurrency'?)",
        f"{config}: {target}: settings: bearer_tokn: unknown key (did you mean 'bearer_token'?)",
        f"{config}: {target}, subscription 'profiles': destination 'adobe-target' has no action 'update_profil' "
        "(did you mean 'update_profile'?)",
        f"{config}: {hook}: settings: headrs: unknown key (did you mean 'headers'?)",
        f"{config}: {hook}, subscription 'orders': trigger: expected a field",
        f"{config}: {hook}, subscription 'orders': mapping: /data: unknown directive @iff (did you mean '@if'?)",
    ]
    assert len(errors) == len(expected), result.stderr
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(f"error: {start}"), line
    assert f"{len(expected)} error(s)" in result.stderr
    assert "t-0123456789" not in result.stderr and "k-0123456789" not in result.stderr


def test_warnings_are_told_and_leave_the_exit_code_alone(tmp_path: Path) -> None:
    text = (
        "destinations:\n"
        "  - name: hook\n"
        "    type: webhook\n"
        "    settings: {url: 'https://hooks.example.com'}\n"
        "    subscriptions:\n"
        "      - {name: s, action: send, trigger: 'event = null'}\n"
    )
    result = validate(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stderr and "error:" not in result.stderr


@pytest.mark.parametrize(
    ("type_", "sandbox", "said"),
    [
        ("adobe-target", "{profils: p.json}", "sandbox.profils: unknown key (did you mean 'profiles'?)"),
        ("webhook", "{seed: 1}", "sandbox.seed: unknown key"),  # a destination whose sandbox takes no options
    ],
)
def test_a_sandbox_option_the_sandbox_does_not_take_is_a_mistake(tmp_path: Path, type_: str, sandbox: str, said: str) -> None:
    settings = "{client_code: acme}" if type_ == "adobe-target" else "{url: 'https://hooks.example.com'}"
    text = f"destinations:\n  - {{name: d, type: {type_}, settings: {settings}, sandbox: {sandbox}}}\n"
    result = validate(tmp_path, text)
    assert result.returncode == 2 and f"destination 'd' (destinations[0]): {said}" in result.stderr, result.stderr
