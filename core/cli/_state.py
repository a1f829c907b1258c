"""The ``--state`` option, and running a command against the state store it names."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ..state import DEFAULT_STATE_PATH, STATE_ENV, StateError, StateStore, open_store
from ._common import usage_error
from ._json import echo_json

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

STATE_HELP = (
    f"The state store: a file path, sqlite:///path or a postgresql:// URL (default: ${STATE_ENV}, else {DEFAULT_STATE_PATH})."
)


def state_option(command: F) -> F:
    return click.option(
        "--state",
        "state",
        envvar=STATE_ENV,
        default=str(DEFAULT_STATE_PATH),
        show_default=False,
        metavar="PATH|URL",
        help=STATE_HELP,
    )(command)


#: Where a sandboxed serve or worker keeps its state unless --state says otherwise: never the real store.
SANDBOX_STATE_PATH = Path(".destkit") / "sandbox-state.db"


def chosen_state(state: str, sandbox: bool) -> str:
    """The store a command uses: with ``--sandbox``, only a ``--state`` given on the command line
    counts (not ``$DESTKIT_STATE``, which names the real one); else a store of the sandbox's own."""
    if sandbox and click.get_current_context().get_parameter_source("state") is not ParameterSource.COMMANDLINE:
        return str(SANDBOX_STATE_PATH)
    return state


def with_store(state: str, work: Callable[[StateStore], Awaitable[T]], *, create: bool = False) -> T:
    """Open the store, run ``work`` with it, close it; a store that cannot be opened is one line
    on stderr and exit 2. Without ``create``, a store that does not exist is such an error."""

    async def main() -> T:
        async with open_store(state, create=create) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except StateError as exc:
        usage_error(exc)


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool, key: str) -> None:
    """A table on a terminal, tab-separated lines otherwise, or ``{key: rows}`` as JSON (see :mod:`._json`)."""
    if as_json:
        echo_json({key: list(rows)})
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
