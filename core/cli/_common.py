"""What the commands share: reading JSON arguments, turning destkit errors into exit code 2,
and printing what compiling a config warned about."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..config import CompiledSubscription
from ..errors import DestkitError

USAGE_ERROR = 2


def read_json_argument(value: str, what: str) -> Any:
    """A JSON document given as a file path, as inline JSON, or as ``-`` for standard input."""
    if value == "-":
        text, origin = sys.stdin.read(), "standard input"
    elif value.lstrip().startswith(("{", "[")):
        text, origin = value, f"the inline {what}"
    else:
        path = Path(value)
        if not path.is_file():
            raise click.UsageError(f"{what} {value!r} is neither a file nor inline JSON")
        text, origin = path.read_text(encoding="utf-8"), str(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


@contextmanager
def config_errors() -> Iterator[None]:
    """Report a destkit error as one line on stderr and exit 2."""
    try:
        yield
    except DestkitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)


def echo_warnings(subscriptions: Iterable[CompiledSubscription]) -> None:
    """Each compile warning, one line on stderr (``validate``'s words); never an exit code."""
    for sub in subscriptions:
        for warning in sub.warnings:
            click.echo(f"warning: {warning}", err=True)
