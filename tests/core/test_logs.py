"""Structured logs: the repeat filter, the two formats, masking and bounds."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit.logs import MAX_FIELD, LogSettings, RepeatFilter, configure, fields, flush, mask_with
from destkit.redaction import Redactor
from destkit.state import open_store
from destkit.testing import LoopbackServer, Reply
from tests.processes import DESTKIT, Running, free_port


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("destkit", "uvicorn")]
    before = [(list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, before, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def record(message: str = "delivery failed", level: int = logging.ERROR, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("destkit.delivery", level, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("times", "passed"),
    [
        ([0, 1, 2, 3], [True, False, False, False]),  # within the interval: the first only
        ([0, 1, 61, 62], [True, False, True, False]),  # the interval over: the next one again
        ([0, 70, 140], [True, True, True]),  # nothing repeated within an interval
    ],
)
def test_a_repeated_error_passes_once_per_interval(times: list[float], passed: list[bool]) -> None:
    clock = Clock()
    repeats = RepeatFilter(60, clock=clock)
    seen = []
    for moment in times:
        clock.now = moment
        seen.append(repeats.filter(record()))
    assert seen == passed


def test_the_line_after_the_interval_counts_those_left_out() -> None:
    clock = Clock()
    repeats = RepeatFilter(60, clock=clock)
    for moment in (0, 1, 2, 3):
        clock.now = moment
        repeats.filter(record())
    clock.now = 61
    after = record()
    assert repeats.filter(after) and getattr(after, "repeated", None) == 3


def test_flush_writes_the_last_line_left_out_with_the_others_counted() -> None:
    told: list[logging.LogRecord] = []
    repeats = RepeatFilter(60, clock=Clock(), emit=told.append)
    for n in range(5):
        repeats.filter(record(f"failed {n}", repeat_key="one kind"))
    repeats.filter(record("alone", repeat_key="another kind"))
    repeats.flush()
    assert [(line.getMessage(), getattr(line, "repeated", None)) for line in told] == [("failed 4", 3)]


@pytest.mark.parametrize(
    ("first", "second", "both_pass"),
    [
        (record("a"), record("b"), True),  # different messages are different kinds
        (record("a", repeat_key=1), record("b", repeat_key=1), False),  # one key: one kind
        (record("a", level=logging.INFO), record("a", level=logging.INFO), True),  # info (the access log) always passes
    ],
)
def test_what_counts_as_a_repeat(first: logging.LogRecord, second: logging.LogRecord, both_pass: bool) -> None:
    repeats = RepeatFilter(60, clock=Clock())
    assert repeats.filter(first)
    assert repeats.filter(second) is both_pass


def log_line(format: str, capsys: pytest.CaptureFixture[str], message: str, **values: object) -> str:
    configure(LogSettings("info", format))
    capsys.readouterr()  # what an earlier setup still held back, told on being replaced
    logging.getLogger("destkit.test").warning(message, extra=fields(**values))
    flush()
    return capsys.readouterr().err.strip()


def test_json_lines_carry_the_fields_as_members(capsys: pytest.CaptureFixture[str]) -> None:
    line = json.loads(log_line("json", capsys, "delivery failed", destination="target", code="TIMEOUT", attempts=3))
    assert {key: line[key] for key in ("level", "logger", "message", "destination", "code", "attempts")} == {
        "level": "warning",
        "logger": "destkit.test",
        "message": "delivery failed",
        "destination": "target",
        "code": "TIMEOUT",
        "attempts": 3,
    }
    assert line["time"].endswith("Z")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("m-1", "message_id=m-1"),
        ("two words", 'message_id="two words"'),
        ("fake\n2026 ERROR forged", 'message_id="fake\\n2026 ERROR forged"'),  # one line stays one line
    ],
)
def test_text_lines_quote_what_could_be_misread(capsys: pytest.CaptureFixture[str], value: str, shown: str) -> None:
    line = log_line("text", capsys, "delivery failed", message_id=value)
    assert line.endswith(f"WARNING destkit.test: delivery failed {shown}")


@pytest.mark.parametrize("format", ["text", "json"])
def test_secrets_are_masked_in_messages_and_fields(capsys: pytest.CaptureFixture[str], format: str) -> None:
    redactor = Redactor(["tok-secret-998877"])
    mask_with(redactor)
    line = log_line(format, capsys, "sent with tok-secret-998877", header="Bearer tok-secret-998877")
    assert "tok-secret-998877" not in line and line.count("***") == 2


def test_a_field_value_is_cut_to_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    line = json.loads(log_line("json", capsys, "delivery failed", message_id="x" * 100_000))
    assert line["message_id"] == "x" * MAX_FIELD + "..."


# --- through real destkit processes -------------------------------------------------------------

KEY = "wk-logs-0123456789"
PERSONAL = "jane.personal@example.com"


def service_config(folder: Path, url: str) -> Path:
    config = {
        "serve": {"write_keys": [KEY]},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": url}}],
    }
    path = folder / "serve.json"
    path.write_text(json.dumps(config))
    return path


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize(("option", "logged"), [((), True), (("--no-access-log",), False)])
def test_serve_logs_each_request_unless_told_not_to_and_each_refusal(
    tmp_path: Path, option: tuple[str, ...], logged: bool
) -> None:
    with LoopbackServer(lambda request: Reply(200, {})) as sink:
        config, state = service_config(tmp_path, sink.url), str(tmp_path / "state.db")
        args = ("serve", "--config", str(config), "--state", state, "--log-format", "json", *option)
        serve = Running(*args, log=tmp_path / "serve.log", port=free_port())
        try:
            accepted = httpx.post(f"{serve.url}/v1/track", json={"userId": "u1", "event": "Signed Up"}, auth=(KEY, ""))
            refused = httpx.post(f"{serve.url}/v1/track", json={"userId": "u1", "event": "Signed Up"}, auth=("wk-wrong", ""))
            assert (accepted.status_code, refused.status_code) == (200, 401)
            wait_for(lambda: any(line["message"] == "request refused" for line in json_lines(serve.output())))
        finally:
            assert serve.stop() == 143
    lines = json_lines(serve.output())
    access = [(line["method"], line["path"], line["status"]) for line in lines if line["logger"] == "destkit.access"]
    assert ("GET", "/healthz", 200) in access if logged else access == []  # the readiness check's
    assert [entry for entry in access if entry[1] != "/healthz"] == (
        [("POST", "/v1/track", 200), ("POST", "/v1/track", 401)] if logged else []
    )
    (refusal,) = [line for line in lines if line["message"] == "request refused"]
    assert (refusal["level"], refusal["reason"], refusal["http_status"]) == ("warning", "auth", 401)
    assert KEY not in serve.output()


async def put_in_inbox(state: str, event: dict[str, Any]) -> None:
    """An event straight into the inbox: serve's door refuses invalid events, older inboxes may hold some."""
    store = open_store(state)
    await store.open()
    try:
        await store.accept([("", json.dumps(event))], time.time())
    finally:
        await store.close()


def test_a_worker_logs_an_event_dropped_as_invalid_with_why_but_not_what(tmp_path: Path) -> None:
    with LoopbackServer(lambda request: Reply(200, {})) as sink:
        config, state = service_config(tmp_path, sink.url), str(tmp_path / "state.db")
        invalid = {"type": "identify", "messageId": "m-no-person", "traits": {"email": PERSONAL}}  # no userId, no anonymousId
        asyncio.run(put_in_inbox(state, invalid))
        args = ("worker", "--config", str(config), "--state", state, "--log-format", "json", "--grace", "2")
        worker = Running(*args, log=tmp_path / "worker.log", ready="delivering")
        try:
            wait_for(lambda: any(line["message"] == "event invalid" for line in json_lines(worker.output())))
        finally:
            assert worker.stop() == 143
    (line,) = [line for line in json_lines(worker.output()) if line["message"] == "event invalid"]
    assert (line["level"], line["message_id"], line["code"]) == ("warning", "m-no-person", "INVALID_EVENT")
    assert line["reason"] == "identify: needs a userId or an anonymousId"
    assert PERSONAL not in worker.output()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_replay_in_several_processes_logs_json_lines_and_accounts_for_every_repeat(tmp_path: Path, workers: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"type": "track", "userId": f"u{n}", "messageId": f"m-{n}"}) + "\n" for n in range(40)))
    with LoopbackServer(lambda request: Reply(200, {})) as sink:
        config = service_config(tmp_path, sink.url)
        args = [DESTKIT, "replay", str(events), "--config", str(config), "--no-state", "--workers", workers]
        result = subprocess.run([*args, "--log-format", "json", "-q"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON, from every process
    assert {(line["message"], line["code"]) for line in lines} == {("event invalid", "INVALID_EVENT")}  # no event name
    assert sum(1 + line.get("repeated", 0) for line in lines) == 40
    assert len(lines) == 2 * int(workers)  # per process: the first, then the last with the count of the others
