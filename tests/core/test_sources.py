"""Reading event files: every line comes out as an event or as a named problem."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from destkit.sources import SourceError, open_source, read_events

HEX = "(a \\u escape is 4 hex digits, surrogates in pairs)"
REST = "the rest of the input cannot be read"


def lines(data: bytes, fmt: str = "jsonl") -> list[tuple[int, Any, str | None]]:
    return [(line.line, line.event, line.problem) for line in read_events(io.BytesIO(data), fmt)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}\n{"b": 2}\n', [(1, {"a": 1}, None), (2, {"b": 2}, None)]),
        (b'{"a": 1}\n\n   \n{"b": 2}', [(1, {"a": 1}, None), (4, {"b": 2}, None)]),  # blank lines skipped, numbers kept
        (b"{oops\n", [(1, None, "not JSON: key must be a string at line 1 column 2")]),
        (b"[1, 2]\n", [(1, None, "not a JSON object but an array")]),
        (b'"text"\n', [(1, None, "not a JSON object but a string")]),
        (b"\xff\xfe{}\n", [(1, None, "not valid UTF-8 at byte 1")]),
        (
            b'{"a": 1}\n{"b": ',
            [
                (1, {"a": 1}, None),
                (
                    2,
                    None,
                    "truncated last line: no newline at the end and not JSON: EOF while parsing a value at line 1 column 5",
                ),
            ],
        ),
        (b'{"a": 1}', [(1, {"a": 1}, None)]),  # a complete last line without newline is fine
        (b'{"big": "' + b"x" * 33_000 + b'"}\n', [(1, None, "event is 33,011 bytes; the limit is 32,768 (32 KB)")]),
        (b'{"a": 1}\r\n{"b": 2}\r\n', [(1, {"a": 1}, None), (2, {"b": 2}, None)]),
        (
            b'{"big": 12345678901234567890123, "f": 0.1, "e": 1e308}\n',
            [(1, {"big": 12345678901234567890123, "f": 0.1, "e": 1e308}, None)],
        ),
        # Not JSON, or not what an event can hold: each line is invalid, and the next is read.
        (
            b'{"a": "\\ud83d"}\n{"b": 1}\n',
            [(1, None, f"not valid Unicode: unexpected end of hex escape {HEX} at line 1 column 14"), (2, {"b": 1}, None)],
        ),
        (b'{"n": -Infinity}\n', [(1, None, "-Infinity is not a JSON number (not finite) at line 1 column 7")]),
        (b'{"n": NaN}\n', [(1, None, "NaN is not a JSON number (not finite) at line 1 column 7")]),
        (b'{"p": {"n": [1e999]}}\n', [(1, None, "a number too large to be finite (over 1.8e308) at $.p.n[0]")]),
        (
            b"[" * 1100 + b"]" * 1100 + b'\n{"b": 1}\n',
            [(1, None, "nested deeper than 64 levels at line 1 column 202"), (2, {"b": 1}, None)],
        ),
        (b'["not", "an", "object"]', [(1, None, "not a JSON object but an array")]),
    ],
)
def test_json_lines(data: bytes, expected: list[tuple[int, Any, str | None]]) -> None:
    assert lines(data) == expected


@pytest.mark.parametrize(("levels", "problem"), [(63, None), (64, "nested deeper than 64 levels at $.a" + "[0]" * 63)])
def test_the_nesting_limit_counts_the_event_as_level_one(levels: int, problem: str | None) -> None:
    ((_, event, found),) = lines(b'{"a": ' + b"[" * levels + b"]" * levels + b"}\n")
    assert found == problem
    assert (event is None) == (problem is not None)


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
            [(1, {"a": 1}, None), (1, None, f"not JSON: the input ends inside a value (truncated) at line 1 column 18; {REST}")],
        ),
        (
            b'[{"a": 1}',
            [
                (1, {"a": 1}, None),
                (
                    1,
                    None,
                    f"not JSON: expected ',' or ']' after an event at line 1 column 10, found the end of the input; {REST}",
                ),
            ],
        ),
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


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'[{"a":1} {"b":2}]', "expected ',' or ']' after an event at line 1 column 10, found '{'"),
        (b"[,,{}]", "expected a value at line 1 column 2, found ','"),
        (b'{"batch" [{"a": 1}]}', "expected ':' after a member name at line 1 column 10, found '['"),
        (b'{"batch": [{"a": 1},]}', "expected a value at line 1 column 21, found ']'"),
        (b'{sentAt: 1, "batch": []}', "expected a member name in double quotes at line 1 column 2, found 's'"),
        (b'\n\n  [\n{"a": 1}\n\n  {"b": 2}]', "expected ',' or ']' after an event at line 6 column 3, found '{'"),
    ],
)
def test_a_json_document_that_breaks_the_grammar_is_refused_where_it_breaks(data: bytes, words: str) -> None:
    try:
        read = lines(data, "json")
    except SourceError as exc:  # before any event: the input is not a document of events
        assert str(exc) == f"not a JSON document of events: {words}"
    else:  # after some: they are kept, and the break is the last line
        assert read[-1][2] == f"not JSON: {words}; the rest of the input cannot be read"


@pytest.mark.parametrize(
    "data",
    [b'[{"a":1} {"b":2}]', b"[,,{}]", b'{"batch" [{"a": 1}]}', b'{"batch": [{"a": 1}]} trailing'],
)
def test_no_invalid_json_document_is_read_as_valid(data: bytes) -> None:
    try:
        read = lines(data, "json")
    except SourceError:
        return
    assert any(problem for _, _, problem in read)


def test_an_event_over_the_limit_in_an_array_is_skipped_and_the_array_read_on() -> None:
    big = json.dumps({"pad": "z" * 40_000}).encode()
    read = lines(b'[{"a": 1},\n' + big + b',\n{"b": "]}\\"["}]', "json")
    assert read == [
        (1, {"a": 1}, None),
        (2, None, f"event is {len(big):,} bytes; the limit is 32,768 (32 KB)"),
        (3, {"b": ']}"['}, None),
    ]


def test_a_json_document_whose_first_event_is_not_an_object_names_it() -> None:
    assert lines(b'[{"n": NaN}, {"ok": true}]', "json") == [
        (1, None, "NaN is not a JSON number (not finite) at line 1 column 7"),
        (1, {"ok": True}, None),
    ]


def giant_line_stream(size: int, compress: bool) -> io.BufferedIOBase:
    """A stream whose first line is ``size`` bytes long, then a valid event; gzip-compressed if asked."""
    data = b'{"pad": "' + b"x" * size + b'"}\n{"after": 1}\n'
    return gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data, 1))) if compress else io.BytesIO(data)


@pytest.mark.parametrize("compress", [False, True])
def test_a_giant_line_is_skipped_without_being_held(compress: bool) -> None:
    stream = giant_line_stream(16 * 1024 * 1024, compress)
    tracemalloc.start()
    try:
        read = [(line.line, line.event, line.problem) for line in read_events(stream, "jsonl")]  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == [(1, None, "event is 16,777,227 bytes; the limit is 32,768 (32 KB)"), (2, {"after": 1}, None)]
    assert peak < 2 * 1024 * 1024  # the line was 16 MB
