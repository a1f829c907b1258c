"""Writing mappings and triggers out as Python: what the generated text may hold, and its fallbacks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from destkit import Runtime, compile_mapping, compile_trigger
from destkit.mappings.codegen import Source, as_function, literal, path_expression
from destkit.mappings.directives import compile_node
from destkit.mappings.jsvalues import MISSING
from destkit.mappings.paths import compile_path

AWKWARD_KEYS = ["it's", 'say "hi"', "back\\slash", "new\nline", "__import__('os')", "{braces}", "é ü 中"]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_keys_from_a_mapping_are_quoted_never_run(key: str) -> None:
    apply = compile_mapping({key: {"@path": "$.traits.plan"}, "fixed": key})
    assert apply({"traits": {"plan": "pro"}}) == {key: "pro", "fixed": key}


@pytest.mark.parametrize(("quote", "key"), [('"', "it's"), ("'", 'say "hi"'), ('"', "new\nline"), ('"', "back\\slash")])
def test_trigger_strings_are_quoted_never_run(quote: str, key: str) -> None:
    # Strings have no escapes, and single quotes stay part of the text, as in Segment.
    text = key if quote == '"' else f"'{key}'"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single quotes are worth a warning
        trigger = compile_trigger(f"event = {quote}{key}{quote} or contains(name, {quote}{key}{quote})")
    assert trigger({"type": "track", "event": text}) is True
    assert trigger({"type": "page", "name": f"<{text}>"}) is True
    assert trigger({"type": "track", "event": "other"}) is False


@pytest.mark.parametrize(
    ("value", "inline"),
    [
        ("text", True),
        (3, True),
        (-2.5, True),
        (None, True),
        (True, True),
        (float("inf"), False),
        (float("nan"), False),
        (b"x", False),
    ],
)
def test_literal_writes_plain_values_and_binds_the_rest(value: Any, inline: bool) -> None:
    source = Source()
    text = literal(source, value)
    assert (text == repr(value)) is inline
    if not inline:
        assert source.names[text] is value


def test_a_path_expression_reads_dicts_lists_and_missing() -> None:
    source = Source()
    expression = path_expression(source, "event", ("a", "0", "b"), lambda value, key: compile_path(key)(value))
    function = source.function("read", expression)
    assert function({"a": [{"b": 1}]}) == 1
    assert function({"a": []}) is MISSING
    assert function({}) is MISSING
    assert function("not a dict") is MISSING


def test_a_node_that_cannot_write_itself_is_not_written_out() -> None:
    def opaque(event: Any) -> Any:
        return event

    assert as_function(opaque) is None


def test_the_generated_text_is_kept_for_reading() -> None:
    apply = compile_mapping({"id": {"@path": "$.userId"}})
    source: str = apply.source  # type: ignore[attr-defined]  # set on the generated function, for reading
    assert "def mapping(event):" in source and "'userId'" in source


def test_every_example_mapping_gives_the_same_payloads_written_out_or_node_by_node() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    events = [json.loads(line) for line in (examples / "events.jsonl").read_text().splitlines()]
    configs = [Runtime(examples / name) for name in ("adobe-target.yaml", "serve.yaml")]
    sources = [sub.mapping_source for runtime in configs for sub in runtime.subscriptions]
    assert len(sources) == 7
    for source in sources:
        written, called = compile_mapping(source), compile_node(source, "")
        assert hasattr(written, "source")
        for event in events:
            assert written(event) == called(event)
