"""The ``destkit`` command. Exit codes: 0 all delivered or skipped, 1 some event failed or was
invalid, 2 a usage or config error (reported in one line before anything is sent)."""

from __future__ import annotations

import click

from .. import __version__
from ..errors import DestkitError
from ._common import Commands, usage_error
from .check import check
from .destinations import destinations
from .dlq import dlq
from .init import init
from .languages import map_command, trigger_command
from .parked import parked
from .replay import replay
from .sandbox import sandbox
from .serve import serve
from .state import state_group
from .validate import validate
from .worker import worker

__all__ = ["main", "cli"]


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="destkit")
def cli() -> None:
    """Deliver Segment-spec customer events to destinations."""


cli.add_command(replay)
cli.add_command(destinations)
cli.add_command(map_command)
cli.add_command(trigger_command)
cli.add_command(validate)
cli.add_command(check)
cli.add_command(init)
cli.add_command(sandbox)
cli.add_command(parked)
cli.add_command(dlq)
cli.add_command(serve)
cli.add_command(worker)
cli.add_command(state_group)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except DestkitError as exc:  # a command that let one through still gets a clean line
        usage_error(exc)
