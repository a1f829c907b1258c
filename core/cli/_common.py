"""What the commands share: reading JSON arguments, turning destkit errors into exit code 2,
and printing what compiling a config warned about."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from ..config import CompiledSubscription
from ..errors import ConfigErrors, DestkitError
from ..loops import LOOP_CHOICES
from ..names import did_you_mean

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


def echo_error(exc: DestkitError) -> None:
    """An error on stderr: one ``error:`` line per problem (a config can have several)."""
    for problem in exc.problems if isinstance(exc, ConfigErrors) else [str(exc)]:
        click.echo(f"error: {problem}", err=True)


def usage_error(exc: DestkitError) -> NoReturn:
    """Report a usage or config error and exit 2, before anything is sent."""
    echo_error(exc)
    sys.exit(USAGE_ERROR)


@contextmanager
def config_errors() -> Iterator[None]:
    """Report a destkit error raised inside (see :func:`usage_error`) and exit 2."""
    try:
        yield
    except DestkitError as exc:
        usage_error(exc)


def echo_warnings(subscriptions: Iterable[CompiledSubscription]) -> None:
    """Each compile warning, one line on stderr (``validate``'s words); never an exit code."""
    for sub in subscriptions:
        for warning in sub.warnings:
            click.echo(f"warning: {warning}", err=True)


class Commands(click.Group):
    """A group of commands that answers an unknown command with the near miss it probably is."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            hint = did_you_mean(name, self.list_commands(ctx)) if self.get_command(ctx, name) is None else ""
            if not hint:
                raise
            raise click.UsageError(f"No such command {name!r}{hint}.", ctx) from exc


#: ``--loop``, for the commands that deliver (replay, serve, worker).
loop_option = click.option(
    "--loop",
    type=click.Choice(LOOP_CHOICES),
    envvar="DESTKIT_LOOP",
    default="auto",
    show_default=True,
    help="Event loop (auto: uvloop when installed).",
)
