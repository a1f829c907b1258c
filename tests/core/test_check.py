"""destkit check: one line per destination, credentials and reachability tested, no event sent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from destkit.cli import cli
from destkit.testing import LoopbackServer, Reply
from tests.processes import DESTKIT, Sandbox, free_port

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, destinations: str) -> Path:
    path = tmp_path / "destkit.yaml"
    path.write_text("destinations:\n" + destinations)
    return path


def check(config: Path, *options: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", "--config", str(config), *options])
    return result.exit_code, result.stdout, result.stderr


def test_the_example_config_checks_against_its_sandbox_as_a_real_process() -> None:
    result = subprocess.run(
        [DESTKIT, "check", "--config", str(ROOT / "examples" / "adobe-target.yaml"), "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok      target (adobe-target): credentials accepted\n"


def test_a_refused_token_fails_its_line_and_the_exit_code_without_showing_it(tmp_path: Path) -> None:
    sandbox = Sandbox("--bearer-token", "the-right-token-1", folder=tmp_path)
    try:
        config = write(
            tmp_path,
            "  - name: target\n    type: adobe-target\n"
            f"    settings: {{client_code: acme, base_url: '{sandbox.url}', bearer_token: the-wrong-token-2}}\n"
            "    subscriptions: [{name: p, action: update_profile, mapping: {traits: {'@path': '$.traits'}}}]\n",
        )
        result = subprocess.run([DESTKIT, "check", "--config", str(config)], capture_output=True, text=True, timeout=60)
        calls = sandbox.stats()["requests"]
        assert {endpoint for endpoint in calls if not endpoint.startswith("inspect")} == {"profile_fetch"}  # the check alone
    finally:
        sandbox.stop()
    assert result.returncode == 1
    assert result.stdout.startswith("failed  target (adobe-target): INVALID_AUTHENTICATION: GET /rest/v1/profiles/")
    assert "the-wrong-token-2" not in result.stdout + result.stderr


def test_a_destination_without_a_test_is_checked_for_reachability(tmp_path: Path) -> None:
    with LoopbackServer(lambda request: Reply(405)) as server:
        config = write(
            tmp_path,
            f"  - {{name: up, type: webhook, settings: {{url: '{server.url}/in'}}}}\n"
            f"  - {{name: down, type: webhook, settings: {{url: 'http://127.0.0.1:{free_port()}/in'}}}}\n",
        )
        code, out, _ = check(config)
        methods = [request.method for request in server.requests]
    lines = out.splitlines()
    assert code == 1 and methods == ["HEAD"]
    assert lines[0] == "ok      up (webhook): reachable (HEAD answered 405); credentials not checked: webhook declares no test"
    assert lines[1].startswith("failed  down (webhook): ") and "HEAD /in" in lines[1]  # refused: no answer


def test_a_destination_that_calls_no_api_has_nothing_to_check(tmp_path: Path) -> None:
    config = write(tmp_path, "  - {name: edge, type: custom-personalization, settings: {datastream_id: web}}\n")
    assert check(config) == (0, "ok      edge (custom-personalization): nothing to check: it calls no API\n", "")


@pytest.mark.parametrize(
    ("destinations", "words"),
    [
        ("  - {name: x, type: nope}\n", "no destination 'nope' is installed"),
        ("  - {name: x, type: webhook, settings: {url: 'https://x.example.com'}, sandbox: {}}\n", "'webhook' has no sandbox"),
    ],
)
def test_a_config_error_exits_2(tmp_path: Path, destinations: str, words: str) -> None:
    code, _, err = check(write(tmp_path, destinations), "--sandbox")
    assert code == 2 and words in err
