"""Generated hostile input for replay's readers and a dry run: every line is accounted for,
nothing raises, memory stays flat. Derandomized, and bounded in examples and time."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destkit.cli import cli
from destkit.config import load_config
from destkit.events import ordering_key
from destkit.replay_job import ReplayJob, _mine, _Settled, share_of
from destkit.sources import MAX_EVENT_BYTES, SourceError, read_events
from destkit.testing import make_event

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _nested(depth: int, kind: str) -> bytes:
    opening, closing = ("[", "]") if kind == "array" else ('{"a":', "}")
    return (opening * depth + "1" + closing * depth).encode()


def _one_line_bytes(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=size).map(lambda raw: raw.replace(b"\n", b" "))


_hostile_lines = st.one_of(
    st.builds(lambda event: json.dumps(event).encode(), st.just(make_event("track", event="Paid"))),  # a good one
    st.builds(lambda value: json.dumps(value).encode(), _json_values),  # any JSON, mostly the wrong type
    st.builds(_nested, st.integers(1, 3000), st.sampled_from(["array", "object"])),
    st.sampled_from([b'{"n": NaN}', b'{"n": Infinity}', b'{"n": -Infinity}', b'{"n": 1e999}', b'{"n": -1e999}']),
    st.builds(lambda digits: b'{"n": ' + b"9" * digits + b"}", st.integers(4000, 20000)),  # past int()'s digit limit
    st.sampled_from([b'{"userId": "\\ud800"}', b'{"userId": "\\udfff\\ud800"}', b'{"\\ud83d": 1}']),
    st.builds(lambda junk: b'{"userId": "' + junk + b'"}', _one_line_bytes(16)),  # invalid UTF-8 inside a string
    _one_line_bytes(64),
    st.builds(lambda size: b'{"pad": "' + b"x" * size + b'"}', st.integers(MAX_EVENT_BYTES - 16, 3 * MAX_EVENT_BYTES)),
    st.sampled_from([b"{", b"[", b'{"type": "track"', b"}", b"]]", b'"\\', b"\x00", b"\r", b"\xef\xbb\xbf{}"]),
    # Someone's events, good or not (too deep to be one: still theirs, to decide whose share it is).
    st.builds(
        lambda person, key, depth: (
            json.dumps({"type": "track", key: person, "n": _nested(depth, "array").decode()}).encode()
            if depth < 70
            else b'{"' + key.encode() + b'": "' + person.encode() + b'", "n": ' + _nested(depth, "array") + b"}"
        ),
        st.sampled_from(["ann", "bo", "cy"]),
        st.sampled_from(["userId", "anonymousId"]),
        st.sampled_from([1, 80]),
    ),
)
_files = st.lists(_hostile_lines, min_size=1, max_size=12)


def _nonblank(lines: list[bytes]) -> list[int]:
    return [number for number, line in enumerate(lines, start=1) if line.strip()]


def _as_jsonl(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


@FUZZ
@given(_files, st.booleans())
def test_every_line_of_a_jsonl_file_comes_out_once(lines: list[bytes], compress: bool) -> None:
    data = _as_jsonl(lines)
    stream = io.BytesIO(gzip.compress(data) if compress else data)
    read = list(read_events(gzip.GzipFile(fileobj=stream) if compress else stream, "jsonl"))  # type: ignore[arg-type]
    assert [line.line for line in read] == _nonblank(lines)
    assert all((line.event is None) != (line.problem is None) for line in read)


@FUZZ
@given(_files, st.sampled_from(["jsonl", "json"]), st.none() | st.floats(0.3, 0.95))
def test_the_shares_of_a_file_read_each_line_once_and_each_persons_events_in_one(
    lines: list[bytes], fmt: str, cut: float | None
) -> None:
    data = _as_jsonl(lines) if fmt == "jsonl" else b"[" + b",\n".join(lines) + b"]"
    if cut is not None:  # a gzip file that breaks off: its damage is one problem line, in one share
        packed = gzip.compress(data)
        data = packed[: int(len(packed) * cut)]

    def read(keep: Any = None) -> list[tuple[int, Any, str | None]]:
        stream: Any = io.BytesIO(data) if cut is None else gzip.GzipFile(fileobj=io.BytesIO(data))
        try:
            return [(line.line, line.event, line.problem) for line in read_events(stream, fmt, keep)]  # type: ignore[arg-type]
        except SourceError as exc:
            return [(0, None, str(exc))]  # refused as a whole: by every share alike

    whole = read()
    shares = [read(lambda number, value, k=k: share_of(number, value, 3) == k) for k in range(3)]
    if whole[:1] and whole[0][0] == 0:
        assert all(share == whole for share in shares)
        return
    assert sorted((line for share in shares for line in share), key=repr) == sorted(whole, key=repr)  # each in one share
    people: dict[str, set[int]] = {}
    for k, share in enumerate(shares):
        for _, event, _ in share:
            if event is not None:
                people.setdefault(ordering_key(event), set()).add(k)
    assert all(len(found) == 1 for found in people.values())


@FUZZ
@given(_files)
def test_a_json_document_is_read_or_refused_with_a_reason(lines: list[bytes]) -> None:
    try:
        read = list(read_events(io.BytesIO(b"[" + b",\n".join(lines) + b"]"), "json"))
    except SourceError as exc:
        assert str(exc)  # refused as a whole, before any event: replay exits 2 naming why
        return
    assert all((line.event is None) != (line.problem is None) for line in read)
    assert len(read) <= len(lines) + 1 and [line.line for line in read] == sorted(line.line for line in read)


@FUZZ
@given(st.integers(1, 64).map(lambda mb: mb * 1024 * 1024 // 8), st.booleans())
def test_memory_stays_flat_whatever_the_line(size: int, compress: bool) -> None:
    data = b'{"pad": "' + b"x" * size + b'"}\n{"ok": 1}\n'
    stream = io.BytesIO(gzip.compress(data, compresslevel=1) if compress else data)
    tracemalloc.start()
    try:
        read = list(read_events(gzip.GzipFile(fileobj=stream) if compress else stream, "jsonl"))  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(line.line, line.event) for line in read] == [(1, None), (2, {"ok": 1})]
    assert peak < 8 * MAX_EVENT_BYTES + 128 * 1024  # a line of up to 8 MB held in no more than ~400 KB


def _replay(folder: Path, name: str, data: bytes) -> tuple[int, str, dict[str, Any]]:
    events, report = folder / name, folder / f"{name}.report.json"
    events.write_bytes(data)
    config = folder / "config.json"
    entry = {"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/hook"}}
    config.write_text(json.dumps({"destinations": [entry]}))
    result = CliRunner().invoke(cli, ["replay", str(events), "--config", str(config), "--dry-run", "--report", str(report)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr, json.loads(report.read_text())


@settings(FUZZ, max_examples=15)
@given(_files, st.sampled_from(["events.jsonl", "events.jsonl.gz"]))
def test_a_dry_run_accounts_for_every_line(tmp_path_factory: Any, lines: list[bytes], name: str) -> None:
    data = _as_jsonl(lines)
    code, err, report = _replay(tmp_path_factory.mktemp("fuzz"), name, gzip.compress(data) if name.endswith(".gz") else data)
    assert code in (0, 1) and "Traceback" not in err
    summary, nonblank = report["summary"], _nonblank(lines)
    assert summary["events"] == len(nonblank) and summary["complete"] is True
    assert sorted(result["line"] for result in report["results"]) == nonblank  # one subscription: one result a line
    assert sum(summary["outcomes"].values()) == len(nonblank)
    assert {result["status"] for result in report["results"]} <= {"delivered", "skipped", "invalid"}


def _replay_job(tmp_path: Path, events: Path, **fields: Any) -> ReplayJob:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"destinations": [{"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/"}}]})
    )
    return ReplayJob(str(events), "jsonl", load_config(str(config)), **fields)


@pytest.mark.parametrize("from_line", [1, 4])
def test_each_share_resumes_after_the_last_line_it_read_whoever_it_belonged_to(tmp_path: Path, from_line: int) -> None:
    events = tmp_path / "events.jsonl"  # one person's events: one share keeps all, the other none
    events.write_text("".join(json.dumps({"type": "track", "userId": "ann", "event": f"e{n}"}) + "\n" for n in range(1, 11)))
    kept = []
    for shard in (0, 1):
        settled = _Settled(last=from_line - 1)
        job = _replay_job(tmp_path, events, shard=shard, shards=2, from_line=from_line)
        with open(events, "rb") as stream:
            lines = list(_mine(stream, job, settled))
        for line in lines:
            settled.settled(line.line)
        kept.append(len(lines))
        assert settled.resume_from == 11  # every line read, its own settled: nothing left to resume
    assert sorted(kept) == [0, 11 - from_line]


def test_a_share_that_kept_nothing_yet_resumes_no_earlier_than_it_was_told(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"type": "track", "userId": "ann", "event": f"e{n}"}) + "\n" for n in range(1, 11)))
    owner = share_of(1, {"userId": "ann"}, 2)
    settled = _Settled(last=6)
    job = _replay_job(tmp_path, events, shard=1 - owner, shards=2, from_line=7)
    assert settled.resume_from == 7  # stopped before reading: where it was told to start
    with open(events, "rb") as stream:
        assert list(_mine(stream, job, settled)) == []
    assert settled.resume_from == 11
