"""What every command that delivers shares: ``--sandbox``, and the config and runtime it
delivers with, checked before the first event."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

import click

from ..config import Config, load_config
from ..errors import DestkitError
from ..runtime import Runtime
from ..sandboxing import sandboxed
from ._common import usage_error

F = TypeVar("F", bound=Callable[..., Any])

SANDBOX_HELP = (
    "Deliver to each destination's local sandbox instead of its real API; the state store must hold "
    "rehearsals (one of the sandbox's own unless --state is given)."
)


def sandbox_option(command: F) -> F:
    return click.option("--sandbox", is_flag=True, help=SANDBOX_HELP)(command)


def delivering(stack: ExitStack, config_path: str, sandbox: bool) -> tuple[Config, Runtime]:
    """The config, with each destination's sandbox started for as long as ``stack`` lasts when
    ``sandbox``, and its runtime; a mistake in either is one line and exit 2, before anything is sent."""
    try:
        config = load_config(config_path)
        if sandbox:
            config = stack.enter_context(sandboxed(config))
        return config, Runtime(config)
    except DestkitError as exc:
        usage_error(exc)
