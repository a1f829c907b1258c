"""``--log-level`` and ``--log-format``: one decorator for every command that delivers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..logs import FORMATS, LEVELS, LogSettings, configure, flush

F = TypeVar("F", bound=Callable[..., Any])


def log_options(default_level: str) -> Callable[[F], F]:
    """Add the two options to a command, and set logging up (and flush it at the end) around it."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def configured(*args: Any, log_level: str, log_format: str, **kwargs: Any) -> Any:
            configure(LogSettings(log_level, log_format))
            try:
                return command(*args, **kwargs)
            finally:
                flush()  # repeats held back are still told, whatever the exit

        level = click.option(
            "--log-level",
            type=click.Choice(LEVELS),
            default=default_level,
            show_default=True,
            envvar="DESTKIT_LOG_LEVEL",
            help="Log lines at this level and above, on standard error.",
        )
        style = click.option(
            "--log-format",
            type=click.Choice(FORMATS),
            default="text",
            show_default=True,
            envvar="DESTKIT_LOG_FORMAT",
            help="text, or json: one JSON object a line, for log shippers.",
        )
        return level(style(configured))  # type: ignore[return-value]

    return decorate
