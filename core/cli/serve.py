"""``destkit serve``: run the tracking API, the profile lookups and the delivery worker with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import ExitStack

import click
import uvicorn

from ..accesslog import AccessLog
from ..config import load_config
from ..connections import quiet_asyncio, server_config
from ..errors import ConfigError, DestkitError
from ..logs import current_settings
from ..loops import resolve_loop, run, tune_collector
from ..sandboxing import sandboxed
from ..service import Service
from ..state import describe_location
from ..worker_processes import WorkerProcesses
from ._common import USAGE_ERROR, echo_warnings, loop_option, usage_error
from ._logging import log_options
from ._state import chosen_state, state_option


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, help="Port to listen on.")
@state_option
@click.option("--grace", default=20.0, show_default=True, help="Seconds in-flight deliveries get to finish on shutdown.")
@click.option("--sandbox", is_flag=True, help="Deliver to each destination's local sandbox instead of its real API.")
@click.option("--no-worker", is_flag=True, help="Only accept events (and answer lookups); destkit worker processes deliver.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Delivery processes: this one and N-1 more on the same state store (up to one per core).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log each HTTP request at info level.")
@log_options(default_level="info")
@loop_option
def serve(
    config_path: str,
    host: str,
    port: int,
    state: str,
    grace: float,
    sandbox: bool,
    no_worker: bool,
    workers: int,
    access_log: bool,
    loop: str,
) -> None:
    """Accept events on Segment's HTTP tracking API, deliver them, and answer profile lookups.

    Events are answered 200 once stored; SIGTERM or Ctrl-C stops taking requests, lets
    in-flight deliveries finish, and keeps everything else for the next start. With a
    sandbox, the state is a store of its own (.destkit/sandbox-state.db) unless --state says.
    """
    with ExitStack() as stack:
        location = chosen_state(state, sandbox)
        try:
            config = load_config(config_path)
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            service = Service(config, state=location, grace=grace, deliver=not no_worker, rehearsal=sandbox)
            resolve_loop(loop)
            if no_worker and workers > 1:
                raise ConfigError("--workers and --no-worker: a front door that delivers nothing starts no delivery processes")
        except DestkitError as exc:
            usage_error(exc)
        echo_warnings(service.runtime.subscriptions)  # once: delivery processes stay quiet
        listening = _listen(host, port, service.options.backlog)
        tune_collector()
        quiet_asyncio()  # out of file descriptors, asyncio reports each failed accept: once per interval
        stack.callback(listening.close)

        async def main() -> None:
            # The store is opened (and, on SQLite, held) before anything is announced.
            await service.open()
            helpers = WorkerProcesses(workers - 1, config, location, service.worker_options, sandbox, loop, current_settings())
            notes = [note for flag, note in ((sandbox, "sandboxed destinations"), (no_worker, "no worker")) if flag]
            if workers > 1:
                notes.append(f"{workers} delivery processes")
            extra = f" with {', '.join(notes)}" if notes else ""
            click.echo(f"destkit serve on http://{host}:{port}{extra} (state {describe_location(location)})", err=True)
            app = AccessLog(service.app) if access_log else service.app
            server = _Server(server_config(app, service.options, grace=grace))
            for signum in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(signum, server.stop_for, signum)
            helpers.start()
            stopping = asyncio.Event()
            supervising = asyncio.create_task(helpers.supervise(stopping))
            try:
                await server.serve(sockets=[listening])
            finally:
                stopping.set()
                await supervising
                await helpers.stop()
            stopped_by.extend(server.signals[:1])

        stopped_by: list[int] = []
        try:
            run(main(), loop)
        except DestkitError as exc:
            usage_error(exc)
    if stopped_by:  # stopped cleanly by a signal: exit as a shell tells it (143, 130)
        sys.exit(128 + stopped_by[0])


class _Server(uvicorn.Server):
    """uvicorn, with destkit's own handling of SIGINT and SIGTERM: the first stops taking
    requests and lets the service finish (its delivery processes included), the second stops
    at once; uvicorn would kill the process with the signal before the delivery processes stop."""

    signals: list[int]

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        self.signals = getattr(self, "signals", [])
        yield

    def stop_for(self, signum: int) -> None:
        self.signals = [*getattr(self, "signals", []), signum]
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def _listen(host: str, port: int, backlog: int) -> socket.socket:
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
        listening.listen(backlog)
    except OSError as exc:
        listening.close()
        reason = "the port is taken by another process" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        click.echo(f"error: cannot listen on {host}:{port}: {reason}", err=True)
        sys.exit(USAGE_ERROR)
    return listening
