"""``destkit worker``: deliver a state store's inbox and parked deliveries, taking no HTTP requests."""

from __future__ import annotations

import sys
from contextlib import ExitStack

import click

from ..config import load_config
from ..errors import DestkitError
from ..loops import resolve_loop, run, tune_collector
from ..runtime import Runtime
from ..sandboxing import sandboxed
from ..state import StateError, describe_location, open_store
from ..worker import Worker, WorkerOptions
from ._common import echo_warnings, loop_option, usage_error
from ._logging import log_options
from ._state import chosen_state, state_option
from ._stopping import StopSignals


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@state_option
@click.option("--grace", default=20.0, show_default=True, help="Seconds in-flight deliveries get to finish on shutdown.")
@click.option("--sandbox", is_flag=True, help="Deliver to each destination's local sandbox instead of its real API.")
@log_options(default_level="info")
@loop_option
def worker(config_path: str, state: str, grace: float, sandbox: bool, loop: str) -> None:
    """Deliver what destkit serve processes accepted, beside them or on other machines.

    Holds a fair share of the inbox (each person's events in order), retries parked
    deliveries as they fall due, and on SIGTERM or Ctrl-C lets in-flight deliveries finish
    and hands its share back (exit code 143 or 130). Start as many as the destinations can take.
    """
    with ExitStack() as stack:
        try:
            config = load_config(config_path)
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            runtime = Runtime(config)
            resolve_loop(loop)
        except DestkitError as exc:
            usage_error(exc)
        echo_warnings(runtime.subscriptions)
        location = chosen_state(state, sandbox)
        tune_collector()
        options = WorkerOptions(lease=config.state.lease_seconds, ledger_days=config.state.ledger_days, grace=grace)

        signals = StopSignals()

        async def main() -> None:
            async with open_store(location) as store, signals:
                await store.claim_purpose(rehearsal=sandbox)
                runtime.state = store
                note = " with sandboxed destinations" if sandbox else ""
                click.echo(f"destkit worker{note} delivering from {describe_location(location)}", err=True)
                async with runtime:
                    await Worker(runtime, store, options).run(signals.requested)
                click.echo("destkit worker stopped", err=True)

        try:
            run(main(), loop)
        except StateError as exc:
            usage_error(exc)
        sys.exit(signals.exit_code(otherwise=0))
