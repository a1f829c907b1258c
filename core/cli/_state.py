"""The ``--state`` option and table printing shared by the commands that use the state store."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ..state import DEFAULT_STATE_PATH

F = TypeVar("F", bound=Callable[..., Any])


def state_option(command: F) -> F:
    return click.option(
        "--state",
        "state_path",
        default=str(DEFAULT_STATE_PATH),
        show_default=True,
        type=click.Path(dir_okay=False),
        help="The state store.",
    )(command)


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool, key: str) -> None:
    """A table on a terminal, tab-separated lines otherwise, or ``{key: rows}`` as JSON."""
    if as_json:
        click.echo(json.dumps({key: list(rows)}, indent=2, ensure_ascii=False))
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, box=None, pad_edge=False)
        for row in rows:
            table.add_row(*(str(row.get(column, "")) for column in columns))
        Console().print(table)
    else:
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(str(row.get(column, "")) for column in columns))
