"""``destkit check``: each destination's reachability and credentials, without sending an event."""

from __future__ import annotations

import asyncio
import sys
from contextlib import ExitStack

import click

from ..checking import CheckResult, check_destinations
from ..config import load_config
from ..runtime import Runtime
from ..sandboxing import sandboxed
from ._common import config_errors


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--sandbox", is_flag=True, help="Check against each destination's local sandbox instead of its real API.")
def check(config_path: str, sandbox: bool) -> None:
    """Test each destination's credentials and reachability; one line per destination.

    Nothing is delivered. Exit code 0 when every destination passed, 1 when any did not,
    2 for a usage or config error.
    """
    with ExitStack() as stack, config_errors():
        config = load_config(config_path)
        if sandbox:
            config = stack.enter_context(sandboxed(config))
        runtime = Runtime(config)

        async def run() -> list[CheckResult]:
            async with runtime:
                return await check_destinations(runtime)

        results = asyncio.run(run())
    for result in results:
        click.echo(f"{'ok' if result.ok else 'failed':<7} {result.destination} ({result.type}): {result.detail}")
    sys.exit(0 if all(result.ok for result in results) else 1)
