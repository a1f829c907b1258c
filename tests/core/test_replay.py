"""destkit replay: click's runner for the quick checks, real processes for the end-to-end ones."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from destkit.cli import cli
from destkit.testing import LoopbackServer, RecordedRequest, Reply

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EVENTS = EXAMPLES / "events.jsonl"
BROKEN = EXAMPLES / "broken-events.jsonl"
TARGET = EXAMPLES / "adobe-target.yaml"
DESTKIT = str(Path(sys.executable).with_name("destkit"))


def replay(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["replay", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def report_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def nonblank_lines(path: Path) -> set[int]:
    return {number for number, line in enumerate(path.read_bytes().split(b"\n"), start=1) if line.strip()}


def webhook_config(tmp_path: Path, url: str, **extra: Any) -> Path:
    entry = {
        "name": "hook",
        "type": "webhook",
        "settings": {"url": url, "headers": {"Authorization": "Bearer hook-secret-7777"}},
        **extra,
    }
    path = tmp_path / "webhook.json"
    path.write_text(json.dumps({"destinations": [entry]}))
    return path


def test_the_main_job_against_the_sandbox_accounts_for_every_line(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = replay(str(EVENTS), "--config", str(TARGET), "--sandbox", "--report", str(report))
    assert code == 1  # one visitor has no profile, one value is too long
    data = report_of(report)
    summary = data["summary"]
    assert summary["events"] == len(nonblank_lines(EVENTS))
    assert {r["line"] for r in data["results"]} == nonblank_lines(EVENTS)
    assert summary["errors"] == {"PAYLOAD_VALIDATION_FAILED": 1, "PROFILE_NOT_FOUND": 1}
    assert summary["outcomes"]["delivered"] > 50
    assert sum(summary["outcomes"].values()) == len(data["results"])
    missing = next(r for r in data["results"] if r["error"] and r["error"]["code"] == "PROFILE_NOT_FOUND")
    assert missing["destination"] == "target" and missing["subscription"] == "profile traits" and missing["attempts"] == 1
    assert set(missing) >= {"line", "messageId", "destination", "subscription", "action", "status", "attempts", "error"}
    assert "outcome target/profile traits" in out and "error PROFILE_NOT_FOUND count=1" in out


def test_only_narrows_the_replay_to_a_subscription(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = replay(
        str(EVENTS), "--config", str(TARGET), "--sandbox", "--only", "target/audience events", "--report", str(report)
    )
    assert code == 0, out
    subscriptions = {r["subscription"] for r in report_of(report)["results"]} - {None}
    assert subscriptions == {"audience events"}


def test_every_kind_of_bad_line_is_invalid_with_its_reason_and_the_run_goes_on(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with LoopbackServer() as server:
        code, out, _ = replay(str(BROKEN), "--config", str(webhook_config(tmp_path, server.url)), "--report", str(report))
        delivered = len(server.requests)
    assert code == 1
    results = {r["line"]: r for r in report_of(report)["results"]}
    assert set(results) == nonblank_lines(BROKEN)  # the blank line is skipped, everything else is there
    reasons = {line: (r["status"], r["error"]["message"] if r["error"] else None) for line, r in results.items()}
    expected = {
        1: ("delivered", None),
        2: ("invalid", "not JSON: key must be a string at line 1 column 2"),
        3: ("invalid", "not a JSON object but an array"),
        4: ("invalid", "type: missing (expected one of identify, track, page, screen, group, alias)"),
        5: ("invalid", "type: unknown call type 'launch' (expected one of identify, track, page, screen, group, alias)"),
        6: ("invalid", "identify: needs a userId or an anonymousId"),
        7: ("invalid", "track: event: missing"),
        8: ("invalid", "event is 33,088 bytes; the limit is 32,768 (32 KB)"),
        9: ("invalid", "not valid UTF-8 at byte 36"),  # the Latin-1 \xe9 of caf\xe9
        11: ("delivered", None),
        12: (
            "invalid",
            "truncated last line: no newline at the end and not JSON: EOF while parsing a string at line 1 column 55",
        ),
    }
    assert reasons == expected
    assert delivered == 2
    assert "replay events=11 invalid_lines=9 invalid_payloads=0" in out


@pytest.mark.parametrize("compress", [False, True])
def test_jsonl_and_gzip_give_the_same_result(tmp_path: Path, compress: bool) -> None:
    source = tmp_path / ("events.jsonl.gz" if compress else "events.jsonl")
    data = EVENTS.read_bytes()
    source.write_bytes(gzip.compress(data) if compress else data)
    report = tmp_path / "r.json"
    code, _, _ = replay(str(source), "--config", str(TARGET), "--sandbox", "--report", str(report))
    summary = report_of(report)["summary"]
    assert (code, summary["events"], summary["errors"]) == (1, 245, {"PAYLOAD_VALIDATION_FAILED": 1, "PROFILE_NOT_FOUND": 1})


def test_standard_input(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, _, _ = replay("-", "--config", str(TARGET), "--sandbox", "--report", str(report), input=EVENTS.read_bytes())
    assert code == 1 and report_of(report)["summary"]["events"] == 245


@pytest.mark.parametrize("shape", ["array", "batch"])
def test_json_arrays_and_segment_batches(tmp_path: Path, shape: str) -> None:
    events = [json.loads(line) for line in EVENTS.read_text().splitlines()[:30]]
    source = tmp_path / "events.json"
    source.write_text(json.dumps(events if shape == "array" else {"batch": events, "sentAt": "2026-11-01T00:00:00Z"}))
    report = tmp_path / "r.json"
    code, _, _ = replay(str(source), "--config", str(TARGET), "--sandbox", "--report", str(report))
    assert code == 0
    assert report_of(report)["summary"]["events"] == 30


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope.jsonl", "--config", str(TARGET)], "nope.jsonl: no such file"),
        ([str(EVENTS), "--config", "nope.yaml"], "nope.yaml: no such config file"),
        ([str(EVENTS), "--config", str(TARGET), "--only", "crm"], "--only names destination(s) crm"),
        ([str(EVENTS), "--config", str(TARGET), "--only", "target/nope"], "has no subscription(s) nope"),
    ],
)
def test_usage_and_config_errors_exit_2_before_sending(args: list[str], words: str) -> None:
    code, _, err = replay(*args)
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_a_plain_file_named_gz_exits_2(tmp_path: Path) -> None:
    fake = tmp_path / "events.jsonl.gz"
    fake.write_bytes(EVENTS.read_bytes()[:500])
    code, _, err = replay(str(fake), "--config", str(TARGET))
    assert code == 2 and "not a gzip file" in err


def test_sandbox_refuses_a_destination_without_one(tmp_path: Path) -> None:
    code, _, err = replay(str(EVENTS), "--config", str(webhook_config(tmp_path, "https://hooks.example.com")), "--sandbox")
    assert code == 2 and "'webhook' has no sandbox" in err


def test_dry_run_prints_requests_with_secrets_masked_and_sends_nothing(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        code, out, err = replay(str(EVENTS), "--config", str(webhook_config(tmp_path, server.url)), "--dry-run")
        assert server.requests == []
    requests = out.strip().splitlines()
    assert len(requests) == 245  # the preset subscription posts every event
    assert all(line.startswith(f"POST {server.url}") for line in requests)
    assert "hook-secret-7777" not in out + err and "Authorization: Bearer ***" in requests[0]
    assert "(dry run: nothing was sent)" in err
    assert code == 0


def test_dry_run_follows_adobe_target_flows() -> None:
    code, out, _ = replay(str(EVENTS), "--config", str(TARGET), "--dry-run", "--only", "target/profile traits")
    lines = out.strip().splitlines()
    fetches = [line for line in lines if "/rest/v1/profiles/thirdPartyId/" in line]
    updates = [line for line in lines if "/profile/update?" in line]
    assert len(fetches) == len(updates) > 40  # each update is preceded by its existence check
    assert "https://acmedemo.tt.omtrdc.net/m2/acmedemo/profile/update?mbox3rdPartyId=user-001&profile.plan=" in "\n".join(updates)
    assert code == 1  # the over-long value is still refused


def test_events_of_one_person_arrive_in_file_order(tmp_path: Path) -> None:
    rng = random.Random(3)

    async def slow(request: RecordedRequest) -> Reply:
        await asyncio.sleep(rng.random() / 500)
        return Reply(200, {})

    events = [
        {"type": "track", "messageId": f"m{n}", "userId": f"user-{n % 4}", "event": "E", "properties": {"n": n}}
        for n in range(120)
    ]
    source = tmp_path / "ordered.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events))
    with LoopbackServer(slow) as server:
        code, _, _ = replay(str(source), "--config", str(webhook_config(tmp_path, server.url)), "--concurrency", "16")
        arrivals: dict[str, list[int]] = {}
        for request in server.requests:
            body = request.json()
            arrivals.setdefault(body["userId"], []).append(body["properties"]["n"])
    assert code == 0
    assert all(numbers == sorted(numbers) and len(numbers) == 30 for numbers in arrivals.values())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_verbose_names_each_problem(tmp_path: Path, workers: str) -> None:
    """Each process names its own problems on standard error (a real process: the shares write there)."""
    args = [DESTKIT, "replay", str(EVENTS), "--config", str(TARGET), "--sandbox", "-v", "--workers", workers]
    err = subprocess.run(args, capture_output=True, text=True, timeout=120).stderr
    assert "line 244 target/profile traits failed PROFILE_NOT_FOUND" in err
    assert "line 245 target/profile traits invalid PAYLOAD_VALIDATION_FAILED: traits.bio" in err


def test_replay_as_a_real_process(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [DESTKIT, "replay", str(EVENTS), "--config", str(TARGET), "--sandbox", "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("replay events=245 invalid_lines=0 invalid_payloads=1")
    assert report_of(report)["summary"]["sandbox"] is True


def test_a_second_real_replay_counts_what_the_ledger_has_as_already_delivered(tmp_path: Path) -> None:
    state, report = tmp_path / "state.db", tmp_path / "report.json"
    args = [DESTKIT, "replay", str(EVENTS), "--config", str(TARGET), "--sandbox", "--state", str(state), "-q"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    second = subprocess.run([*args, "--report", str(report)], capture_output=True, text=True, timeout=120)
    assert "already_delivered" not in first.stdout, first.stderr
    summary = report_of(report)["summary"]
    assert summary["outcomes"]["already_delivered"] == 74  # every delivery of the first run, none sent again
    assert "delivered" not in summary["outcomes"] and "skipped=169" in second.stdout  # no trigger matched: skipped
    assert (summary["invalid_lines"], summary["invalid_payloads"]) == (0, 1)


def test_a_real_process_reads_standard_input() -> None:
    result = subprocess.run(
        [DESTKIT, "replay", "-", "--config", str(TARGET), "--sandbox", "-q"],
        input=EVENTS.read_bytes(),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert b"replay events=245" in result.stdout


HOSTILE_LINES = [
    (
        b'{"type": "track", "userId": "u", "event": "E", "properties": {"deep": ' + b"[" * 1100 + b"]" * 1100 + b"}}",
        "nested deeper",
    ),
    (b'{"type": "identify", "userId": "u", "traits": {"plan": NaN}}', "NaN is not a JSON number (not finite)"),
    (b'{"type": "identify", "userId": "u", "traits": {"plan": Infinity}}', "Infinity is not a JSON number (not finite)"),
    (b'{"type": "identify", "userId": "u", "traits": {"plan": 1e999}}', "too large to be finite (over 1.8e308) at $.traits.plan"),
    (b'{"type": "identify", "userId": "\\ud800", "traits": {}}', "not valid Unicode"),
    (None, "event is 134,217,786 bytes; the limit is 32,768"),  # a 128 MB line, written a piece at a time
]
# Runs a command and reports its peak memory. A child's own figure would count its parent's:
# Linux carries the memory high-water mark of the process that forked it across exec.
PEAK_RSS = (
    "import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(child.pid, 0); "
    "print(f'peak_kb={usage.ru_maxrss}', file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(status))"
)


def test_hostile_lines_in_a_gzip_are_invalid_and_the_run_goes_on_in_flat_memory(tmp_path: Path) -> None:
    good = json.dumps({"type": "identify", "userId": "u-ok", "traits": {"plan": "pro"}}).encode()
    source = tmp_path / "hostile.jsonl.gz"
    with gzip.open(source, "wb", compresslevel=1) as out:
        for line, _ in HOSTILE_LINES:
            if line is None:
                out.write(b'{"type": "identify", "userId": "u", "traits": {"pad": "')
                for _ in range(128):
                    out.write(b"x" * (1 << 20))
                line = b'"}}'
            out.write(line + b"\n" + good + b"\n")
    report = tmp_path / "report.json"
    with LoopbackServer() as server:
        config = webhook_config(tmp_path, server.url)
        command = [DESTKIT, "replay", str(source), "--config", str(config), "--no-state", "--report", str(report), "-q"]
        result = subprocess.run([sys.executable, "-c", PEAK_RSS, *command], capture_output=True, text=True, timeout=120)
    peak_kb = int(result.stderr.rpartition("peak_kb=")[2])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr  # each line is an outcome (and a log line), never a crash
    results = {r["line"]: r for r in report_of(report)["results"]}
    assert set(results) == set(range(1, 2 * len(HOSTILE_LINES) + 1))  # every line accounted for
    for index, (_, words) in enumerate(HOSTILE_LINES):
        refused, after = results[2 * index + 1], results[2 * index + 2]
        assert refused["status"] == "invalid" and words in refused["error"]["message"], refused
        assert after["status"] == "delivered"
    assert len(server.requests) == len(HOSTILE_LINES)
    assert peak_kb < 128 * 1024  # the 128 MB line was never held whole
