"""``destkit serve``: run the tracking API, the profile lookups and the delivery worker with uvicorn."""

from __future__ import annotations

import sys
from contextlib import ExitStack

import click

from ..config import load_config
from ..errors import DestkitError
from ..sandboxing import sandboxed
from ..service import Service
from ..state import DEFAULT_STATE_PATH
from ._common import USAGE_ERROR


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, help="Port to listen on.")
@click.option(
    "--state",
    "state_path",
    default=str(DEFAULT_STATE_PATH),
    show_default=True,
    help="The state store (inbox, ledger, parked, dead letters, profiles).",
)
@click.option("--grace", default=20.0, show_default=True, help="Seconds in-flight deliveries get to finish on shutdown.")
@click.option("--sandbox", is_flag=True, help="Deliver to each destination's local sandbox instead of its real API.")
def serve(config_path: str, host: str, port: int, state_path: str, grace: float, sandbox: bool) -> None:
    """Accept events on Segment's HTTP tracking API, deliver them, and answer profile lookups.

    Events are answered 200 once stored; SIGTERM or Ctrl-C stops taking requests, lets
    in-flight deliveries finish, and keeps everything else for the next start.
    """
    import uvicorn

    with ExitStack() as stack:
        try:
            config = load_config(config_path)
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            service = Service(config, state_path=state_path, grace=grace)
        except DestkitError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USAGE_ERROR)
        note = " with sandboxed destinations" if sandbox else ""
        click.echo(f"destkit serve on http://{host}:{port}{note} (state {state_path})", err=True)
        uvicorn.run(service.app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=max(1, round(grace)))
