"""The destkit command: click's runner for the fast checks, a real subprocess for the console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from destkit.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_destinations_list_shows_the_webhook() -> None:
    code, out, _ = invoke("destinations", "list", "--json")
    assert code == 0
    listed = {d["slug"]: d for d in json.loads(out)["destinations"]}
    assert listed["webhook"]["actions"] == ["send", "send_batch"]


def test_destinations_show_gives_fields_defaults_and_schemas() -> None:
    code, out, _ = invoke("destinations", "show", "webhook", "--json")
    shown = json.loads(out)
    assert code == 0
    assert [f["name"] for f in shown["settings"]] == ["url", "headers"]
    headers = next(f for f in shown["settings"] if f["name"] == "headers")
    assert headers["secret"] is True
    send = next(a for a in shown["actions"] if a["slug"] == "send")
    assert send["default_mapping"] == {"data": {"@path": "$."}}
    assert send["payload_schema"]["properties"]["method"]["enum"] == ["POST", "PUT", "PATCH"]
    assert next(a for a in shown["actions"] if a["slug"] == "send_batch")["batching"] == "always"


def test_destinations_show_as_tables() -> None:
    code, out, _ = invoke("destinations", "show", "webhook")
    assert code == 0
    assert "action send" in out and '{"@path": "$."}' in out and "(secret)" in out


def test_showing_an_unknown_destination_exits_2() -> None:
    code, _, err = invoke("destinations", "show", "nope")
    assert code == 2
    assert "no destination 'nope' is installed" in err


def test_map_prints_the_payload() -> None:
    code, out, _ = invoke("map", '{"id": {"@path": "$.userId"}}', '{"userId": "u1"}')
    assert (code, json.loads(out)) == (0, {"id": "u1"})


def test_map_reads_files_and_stdin(tmp_path: Path) -> None:
    mapping = tmp_path / "m.json"
    mapping.write_text('{"n": {"@path": "$.properties.n"}}')
    code, out, _ = invoke("map", str(mapping), "-", input='{"properties": {"n": 2}}')
    assert (code, json.loads(out)) == (0, {"n": 2})


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("map", '{"a": {"@iff": 1}}', "{}"), "/a: unknown directive @iff"),
        (("map", "{oops", "{}"), "invalid JSON at line 1 column 2"),
        (("map", "missing-file.json", "{}"), "neither a file nor inline JSON"),
        (("trigger", 'type = "a" and', "{}"), "column 15"),
    ],
)
def test_language_mistakes_exit_2_with_one_clear_line(args: tuple[str, ...], words: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert words in err


@pytest.mark.parametrize(("expression", "expected"), [('type = "track"', "true"), ('type = "page"', "false")])
def test_trigger_prints_true_or_false(expression: str, expected: str) -> None:
    code, out, _ = invoke("trigger", expression, '{"type": "track"}')
    assert (code, out.strip()) == (0, expected)


def test_validate_accepts_the_example_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://hooks.example.com")
    code, out, _ = invoke("validate", "--config", str(ROOT / "examples" / "webhook.yaml"))
    assert code == 0, out
    assert "ok (1 destination(s), 2 subscription(s))" in out


def test_validate_names_a_missing_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    code, _, err = invoke("validate", "--config", str(ROOT / "examples" / "webhook.yaml"))
    assert code == 2
    assert "settings.url: environment variable WEBHOOK_URL is not set" in err


def test_validate_rejects_a_bad_config_naming_the_spot(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "destinations:\n"
        "  - name: h\n"
        "    type: webhook\n"
        "    settings: {url: 'https://x.example.com'}\n"
        "    subscriptions:\n"
        "      - {name: s, action: send, mapping: {data: {'@nope': 1}}}\n"
    )
    code, _, err = invoke("validate", "--config", str(path))
    assert code == 2
    assert "destination 'h' (destinations[0]), subscription 's': mapping: /data: unknown directive @nope" in err


def test_the_console_script_runs_as_a_real_process() -> None:
    destkit = Path(sys.executable).with_name("destkit")
    result = subprocess.run([str(destkit), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("destinations", "map", "trigger", "validate", "init"):
        assert command in result.stdout


def shared_config(tmp_path: Path) -> Path:
    """One config for replay and serve, its serve secret from an environment variable."""
    path = tmp_path / "shared.yaml"
    path.write_text(
        "destinations:\n"
        "  - {name: h, type: webhook, settings: {url: 'https://hooks.example.com/in'}}\n"
        "serve:\n"
        "  write_keys: ['${DESTKIT_TEST_WRITE_KEY}']\n"
    )
    return path


def test_an_unset_serve_variable_does_not_stop_a_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTKIT_TEST_WRITE_KEY", raising=False)
    events = '{"type": "track", "event": "A", "userId": "u1", "messageId": "m1"}\n'
    code, _, err = invoke("replay", "-", "--config", str(shared_config(tmp_path)), "--dry-run", "-q", input=events)
    assert code == 0, err
    assert "delivered=1" in err


@pytest.mark.parametrize("command", [("validate",), ("serve", "--state", "unused.db")])
def test_an_unset_serve_variable_stops_serve_and_validate_naming_it(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESTKIT_TEST_WRITE_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(*command, "--config", str(shared_config(tmp_path)))
    assert code == 2
    assert "serve.write_keys[0]: environment variable DESTKIT_TEST_WRITE_KEY is not set" in err


@pytest.mark.parametrize(
    ("serve", "environ", "code", "words"),
    [
        ({"write_keys": []}, {}, 2, "serve needs at least one write key"),
        ({"write_keys": ["${DESTKIT_TEST_KEY}"]}, {"DESTKIT_TEST_KEY": ""}, 2, "serve needs at least one write key"),
        ({"write_keys": ["${DESTKIT_TEST_KEY:-}"]}, {}, 2, "serve needs at least one write key"),
        ({"write_keys": ["${DESTKIT_TEST_KEY:-dev-key}"]}, {"DESTKIT_TEST_KEY": ""}, 0, "ok"),
        (None, {}, 0, "ok"),  # no serve block: a replay-only config
    ],
)
def test_validate_refuses_a_serve_block_as_serve_does(
    tmp_path: Path, serve: dict[str, object] | None, environ: dict[str, str], code: int, words: str
) -> None:
    config: dict[str, object] = {"destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9"}}]}
    if serve is not None:
        config["serve"] = serve
    path = tmp_path / "destkit.json"
    path.write_text(json.dumps(config))
    env = {key: value for key, value in os.environ.items() if key != "DESTKIT_TEST_KEY"} | environ
    destkit = str(Path(sys.executable).with_name("destkit"))
    validated = subprocess.run([destkit, "validate", "--config", str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert validated.returncode == code, validated.stderr
    assert words in (validated.stdout + validated.stderr)
    if code == 2:  # serve refuses what validate refuses, with the same words
        served = subprocess.run(
            [destkit, "serve", "--config", str(path), "--state", str(tmp_path / "s.db"), "--port", "1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert served.returncode == 2 and words in served.stderr


ODD_TRIGGER = 'type = "track" and event = null'  # legal, and worth a warning: Segment compares with the text "null"


def warned_config(tmp_path: Path) -> Path:
    path = tmp_path / "warned.yaml"
    path.write_text(
        "destinations:\n"
        "  - name: h\n"
        "    type: webhook\n"
        "    settings: {url: 'http://127.0.0.1:9/in'}\n"
        f"    subscriptions: [{{name: odd, action: send, trigger: '{ODD_TRIGGER}'}}]\n"
        "serve:\n"
        "  write_keys: ['wk-warned']\n"
    )
    return path


def warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


@pytest.mark.parametrize("command", [("validate",), ("replay", "-", "--dry-run", "-q")])
def test_compile_warnings_are_printed_once_and_keep_the_exit_code(tmp_path: Path, command: tuple[str, ...]) -> None:
    events = '{"type": "track", "event": "null", "userId": "u1", "messageId": "m1"}\n'
    code, _, err = invoke(*command, "--config", str(warned_config(tmp_path)), input=events)
    assert code == 0, err
    (line,) = warning_lines(err)
    assert "subscription 'odd': trigger: event = null compares event with the text \"null\"" in line


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_long_running_commands_print_compile_warnings_once_at_start(tmp_path: Path, command: str) -> None:
    destkit = str(Path(sys.executable).with_name("destkit"))
    args = [destkit, command, "--config", str(warned_config(tmp_path)), "--state", str(tmp_path / "state.db")]
    if command == "serve":
        args += ["--port", "0", "--workers", "2"]  # a second delivering process must stay quiet
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as sink:
        process = subprocess.Popen(args, stderr=sink, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 30
            while not warning_lines(errors.read_text()) and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            time.sleep(1.0)  # time for anything else to print it again
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    assert code == 143, errors.read_text()
    (line,) = warning_lines(errors.read_text())
    assert "subscription 'odd': trigger: event = null" in line
