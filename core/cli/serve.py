"""``destkit serve``: run the tracking API and its delivery worker with uvicorn."""

from __future__ import annotations

import sys

import click

from ..errors import DestkitError
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
    help="The state store (inbox, ledger, parked, dead letters).",
)
@click.option("--grace", default=20.0, show_default=True, help="Seconds in-flight deliveries get to finish on shutdown.")
def serve(config_path: str, host: str, port: int, state_path: str, grace: float) -> None:
    """Accept events on Segment's HTTP tracking API and deliver them.

    Events are answered 200 once stored; SIGTERM or Ctrl-C stops taking requests, lets
    in-flight deliveries finish, and keeps everything else for the next start.
    """
    import uvicorn

    try:
        service = Service(config_path, state_path=state_path, grace=grace)
    except DestkitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    click.echo(f"destkit serve on http://{host}:{port} (state {state_path})", err=True)
    uvicorn.run(service.app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=max(1, round(grace)))
