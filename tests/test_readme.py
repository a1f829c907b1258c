"""What the README shows works: its config validates (through `destkit validate`), its error
example is what validate prints, its mappings and triggers compile, every `destkit` command in
its shell blocks parses through the CLI (a synopsis names only options that exist), and its
Python fragments are valid Python."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from destkit.cli import cli
from destkit.mappings import compile_mapping, compile_trigger
from tests.processes import DESTKIT

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
#: Fields a trigger starts with (Segment's subscription language).
TRIGGER = re.compile(r"^(type|event|name|userId|properties\.\w+|traits\.\w+|context\.[\w.]+) (=|!=|<|<=|>|>=) \S")


def fenced(language: str) -> list[str]:
    return [body for tag, body in FENCED.findall(README) if tag == language]


def prose() -> str:
    """The README without its fenced blocks: where inline code spans are."""
    return FENCED.sub("", README)


def inline(pattern: re.Pattern[str]) -> list[str]:
    spans = (span.replace("\\|", "|") for span in INLINE.findall(prose()))  # a `|` escaped in a table
    return sorted({span for span in spans if pattern.search(span)})


def environment(text: str) -> dict[str, str]:
    """The environment a config needs: each ``${VAR}`` it reads set to a plausible value."""
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    values = {name: "https://hooks.example.com" if name.endswith("URL") else f"{name.lower()}-0123456789" for name in names}
    return {**os.environ, **values}


def validate(folder: Path, config: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (folder / "destkit.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run(
        [DESTKIT, "validate", "--config", "destkit.yaml"], capture_output=True, text=True, timeout=60, cwd=folder, env=env
    )


@pytest.mark.parametrize("text", fenced("yaml"))
def test_the_readme_configs_validate(tmp_path: Path, text: str) -> None:
    result = validate(tmp_path, yaml.safe_load(text), environment(text))
    assert result.returncode == 0 and "error" not in result.stderr, result.stderr


def test_the_readme_error_example_is_what_validate_prints(tmp_path: Path) -> None:
    (text,) = fenced("yaml")
    config = yaml.safe_load(text)
    hook = config["destinations"][0]
    hook["settings"]["headrs"] = hook["settings"].pop("headers")
    hook["subscriptions"][0]["mapping"]["data"]["id"] = {"@iff": {"exists": {"@path": "$.userId"}, "then": 1}}
    result = validate(tmp_path, config, environment(text))
    (shown,) = [body for tag, body in FENCED.findall(README) if not tag and body.startswith("error: destkit.yaml")]
    expected = shown.strip().splitlines()
    printed = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(printed) == len(expected), result.stderr
    for line, example in zip(printed, expected, strict=True):
        assert re.fullmatch(re.escape(example).replace(re.escape("..."), ".*"), line), (line, example)


def test_every_mapping_in_the_readme_compiles() -> None:
    written = inline(re.compile(r'^\{"@\w+"'))
    placeholders = [span for span in written if "..." in span]  # `{"@if": {"exists": ..., ...}}`: a shape, not a mapping
    mappings = [span for span in written if span not in placeholders]
    assert len(mappings) >= 8, mappings  # the table of directives has been found
    for span in mappings:
        compile_mapping({"field": json.loads(span)})


@pytest.mark.filterwarnings("ignore::destkit.ConfigWarning")  # `event != null` is shown for its warning
def test_every_trigger_in_the_readme_compiles() -> None:
    triggers = inline(TRIGGER) + [t for text in fenced("yaml") for t in re.findall(r"trigger: '([^']+)'", text)]
    assert len(triggers) >= 5, triggers
    for trigger in triggers:
        compile_trigger(trigger)


def shell_lines() -> list[str]:
    """Each ``destkit`` command of the README's shell blocks: continuations joined, comments dropped."""
    commands = []
    for block in fenced("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("destkit "):
                commands.append(line)
    return commands


def command_of(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command ``words`` name, and the words left for it."""
    command: click.Command = cli
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, words


@pytest.mark.parametrize("line", shell_lines())
def test_every_command_in_the_readme_parses(line: str) -> None:
    command, rest = command_of(shlex.split(line)[1:])
    assert not isinstance(command, click.Group), f"{line}: names no command"
    if "[" in line or re.search(r"\b[A-Z]{2,}\b", line):  # a synopsis: its options exist
        known = {option for parameter in command.params for option in parameter.opts}
        assert set(re.findall(r"--[a-z][a-z-]*", line)) <= known, f"{line}: unknown option(s)"
    else:  # a command as typed: the CLI takes it
        command.make_context(command.name or "destkit", rest)


def test_there_are_commands_to_check() -> None:
    assert len(shell_lines()) >= 15


@pytest.mark.parametrize("code", fenced("python"))
def test_the_readme_python_is_valid_python(code: str) -> None:
    compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
