"""Reading event files: every line comes out as an event or as a named problem."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from destkit.sources import SourceError, open_source, read_events


def lines(data: bytes, fmt: str = "jsonl") -> list[tuple[int, Any, str | None]]:
    return [(line.line, line.event, line.problem) for line in read_events(io.BytesIO(data), fmt)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}\n{"b": 2}\n', [(1, {"a": 1}, None), (2, {"b": 2}, None)]),
        (b'{"a": 1}\n\n   \n{"b": 2}', [(1, {"a": 1}, None), (4, {"b": 2}, None)]),  # blank lines skipped, numbers kept
        (b"{oops\n", [(1, None, "not JSON: Expecting property name enclosed in double quotes at column 2")]),
        (b"[1, 2]\n", [(1, None, "not a JSON object but an array")]),
        (b'"text"\n', [(1, None, "not a JSON object but a string")]),
        (b"\xff\xfe{}\n", [(1, None, "not valid UTF-8 (byte 1)")]),
        (
            b'{"a": 1}\n{"b": ',
            [
                (1, {"a": 1}, None),
                (2, None, "truncated last line: no newline at the end and not complete JSON (Expecting value)"),
            ],
        ),
        (b'{"a": 1}', [(1, {"a": 1}, None)]),  # a complete last line without newline is fine
        (b'{"big": "' + b"x" * 33_000 + b'"}\n', [(1, None, "event is 33,011 bytes; the limit is 32,768 (32 KB)")]),
        (b'{"a": 1}\r\n{"b": 2}\r\n', [(1, {"a": 1}, None), (2, {"b": 2}, None)]),
        # What the standard library reads is read, even where the fast parser balks.
        (b'{"a": "\\ud83d"}\n', [(1, {"a": "\ud83d"}, None)]),
        (
            b'{"n": -Infinity, "big": 123456789012345678901234567890, "f": 0.1}\n',
            [(1, {"n": float("-inf"), "big": 123456789012345678901234567890, "f": 0.1}, None)],
        ),
        (b'["not", "an", "object"]', [(1, None, "not a JSON object but an array")]),
    ],
)
def test_json_lines(data: bytes, expected: list[tuple[int, Any, str | None]]) -> None:
    assert lines(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'[{"a": 1}, {"b": 2}]', [(1, {"a": 1}, None), (1, {"b": 2}, None)]),
        (
            b'[\n  {"a": 1},\n  {"b":\n 2},\n  3\n]',
            [(2, {"a": 1}, None), (3, {"b": 2}, None), (5, None, "not a JSON object but a number")],
        ),
        (b'{"sentAt": "now", "batch": [{"a": 1}], "context": {"x": [1]}}', [(1, {"a": 1}, None)]),
        (b'{"context": {}, "batch": [{"a": 1}, {"b": 2}]}', [(1, {"a": 1}, None), (1, {"b": 2}, None)]),
        (b"[]", []),
        (
            b'[{"a": 1}, {"b": ',
            [(1, {"a": 1}, None), (1, None, "not JSON: Expecting value; the rest of the array cannot be read")],
        ),
        (b'[{"a": 1}', [(1, {"a": 1}, None), (1, None, "truncated input: the array is not closed")]),
    ],
)
def test_json_documents(data: bytes, expected: list[tuple[int, Any, str | None]]) -> None:
    assert lines(data, "json") == expected


def test_a_large_array_streams_across_chunks() -> None:
    events = [{"n": n, "pad": "y" * 50} for n in range(5000)]
    data = ("[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]").encode()
    read = lines(data, "json")
    assert [event for _, event, _ in read] == events
    assert [number for number, _, _ in read][:3] == [2, 3, 4]


@pytest.mark.parametrize("data", [b'{"no": "batch"}', b"42"])
def test_a_json_document_must_be_an_array_or_a_batch(data: bytes) -> None:
    with pytest.raises(SourceError):
        lines(data, "json")


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"b": 2}\n'))
    stream, fmt = open_source(str(path))
    assert fmt == "jsonl" and [line.event for line in read_events(stream, fmt)] == [{"a": 1}, {"b": 2}]


def test_a_damaged_gzip_ends_with_a_problem_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 2000)[:-40])
    stream, fmt = open_source(str(path))
    read = list(read_events(stream, fmt))
    assert read[-1].problem is not None and "compressed data is damaged" in read[-1].problem


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.jsonl", None, "no such file"),
        ("plain.jsonl.gz", b'{"a": 1}\n', "not a gzip file"),
        ("events.csv", b"a,b\n", "unknown format"),
    ],
)
def test_unreadable_inputs_raise(tmp_path: Path, name: str, content: bytes | None, words: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=words):
        open_source(str(path))
