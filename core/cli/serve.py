"""``destkit serve``: run the tracking API, the profile lookups and the delivery worker with uvicorn."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from contextlib import ExitStack

import click

from ..config import load_config
from ..errors import DestkitError
from ..sandboxing import sandboxed
from ..service import Service
from ..state import describe_location
from ._common import USAGE_ERROR
from ._state import chosen_state, state_option


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, help="Port to listen on.")
@state_option
@click.option("--grace", default=20.0, show_default=True, help="Seconds in-flight deliveries get to finish on shutdown.")
@click.option("--sandbox", is_flag=True, help="Deliver to each destination's local sandbox instead of its real API.")
@click.option("--no-worker", is_flag=True, help="Only accept events (and answer lookups); destkit worker processes deliver.")
def serve(config_path: str, host: str, port: int, state: str, grace: float, sandbox: bool, no_worker: bool) -> None:
    """Accept events on Segment's HTTP tracking API, deliver them, and answer profile lookups.

    Events are answered 200 once stored; SIGTERM or Ctrl-C stops taking requests, lets
    in-flight deliveries finish, and keeps everything else for the next start. With a
    sandbox, the state is a store of its own (.destkit/sandbox-state.db) unless --state says.
    """
    import uvicorn

    with ExitStack() as stack:
        location = chosen_state(state, sandbox)
        try:
            config = load_config(config_path)
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            service = Service(config, state=location, grace=grace, deliver=not no_worker, rehearsal=sandbox)
        except DestkitError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USAGE_ERROR)
        listening = _listen(host, port)
        stack.callback(listening.close)

        async def main() -> None:
            # The store is opened (and, on SQLite, held) before anything is announced.
            await service.open()
            notes = [note for flag, note in ((sandbox, "sandboxed destinations"), (no_worker, "no worker")) if flag]
            extra = f" with {', '.join(notes)}" if notes else ""
            click.echo(f"destkit serve on http://{host}:{port}{extra} (state {describe_location(location)})", err=True)
            server = uvicorn.Server(
                uvicorn.Config(service.app, log_level="warning", timeout_graceful_shutdown=max(1, round(grace)))
            )
            await server.serve(sockets=[listening])

        try:
            asyncio.run(main())
        except DestkitError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USAGE_ERROR)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced: a port that is taken is a usage
    error naming it, not a service that says it started and then stops."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listening = socket.socket(family, kind, protocol)
    except OSError as exc:
        click.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(USAGE_ERROR)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        reason = "the port is taken by another process" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        click.echo(f"error: cannot listen on {host}:{port}: {reason}", err=True)
        sys.exit(USAGE_ERROR)
    return listening
