"""``destkit sandbox hubspot``: serve the HubSpot sandbox in the foreground, until stopped."""

from __future__ import annotations

import json
import signal
import threading

import click

from destkit.testing import LoopbackServer

from .sandbox import HubSpotSandbox


@click.command("hubspot")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8766, show_default=True, help="Port to listen on.")
@click.option(
    "--private-app-token", "private_tokens", multiple=True, envvar="HUBSPOT_SANDBOX_TOKEN", help="A private app token to accept."
)
@click.option("--client-id", help="The OAuth app's client ID.")
@click.option("--client-secret", help="The OAuth app's client secret.")
@click.option("--refresh-token", "refresh_tokens", multiple=True, help="A refresh token the OAuth app may renew with.")
@click.option("--token-lifetime", default=1800.0, show_default=True, help="Seconds an access token lives.")
@click.option("--portal-id", default=1234567, show_default=True, help="The Hub ID custom event names carry.")
@click.option("--unique-property", "unique_properties", multiple=True, help="A custom contact property of unique values.")
@click.option("--property", "properties", multiple=True, help="A custom contact property.")
@click.option("--burst", default=100, show_default=True, help="Calls per rolling window.")
@click.option("--window", default=10.0, show_default=True, help="The rolling window, in seconds.")
@click.option("--daily", default=250_000, show_default=True, help="A private app's calls a day.")
@click.option("--fault-rate", default=0.0, show_default=True, help="Fraction of API calls answered 500, 502, 503 or 429.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Extra latency per answer, in milliseconds (jittered).")
@click.option("--seed", type=int, help="Makes faults and latency repeatable.")
def command(
    host: str,
    port: int,
    private_tokens: tuple[str, ...],
    client_id: str | None,
    client_secret: str | None,
    refresh_tokens: tuple[str, ...],
    token_lifetime: float,
    portal_id: int,
    unique_properties: tuple[str, ...],
    properties: tuple[str, ...],
    burst: int,
    window: float,
    daily: int,
    fault_rate: float,
    latency_ms: float,
    seed: int | None,
) -> None:
    """A local HubSpot: OAuth token renewal, contacts batch upsert, custom events, limits, faults."""
    if not 0.0 <= fault_rate <= 1.0:
        raise click.BadParameter("a fraction between 0 and 1", param_hint="--fault-rate")
    if not private_tokens and not refresh_tokens:
        raise click.UsageError(
            "give --private-app-token, or --client-id, --client-secret and --refresh-token: a sandbox no one may call is no use"
        )
    sandbox = HubSpotSandbox(
        private_tokens=private_tokens,
        client_id=client_id,
        client_secret=client_secret,
        refresh_tokens=refresh_tokens,
        token_lifetime=token_lifetime,
        portal_id=portal_id,
        unique_properties=unique_properties,
        properties=properties,
        burst=burst,
        window=window,
        daily=daily,
        fault_rate=fault_rate,
        latency_ms=latency_ms,
        seed=seed,
    )
    server = LoopbackServer(app=sandbox.app, host=host, port=port)
    try:  # bound before anything is announced: a port that is taken is a usage error naming it
        server.start()
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"HubSpot sandbox on {server.url} (portal {portal_id})", err=True)
    click.echo(f"inspect: {server.url}/_sandbox/stats, /_sandbox/contacts and /_sandbox/events", err=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo(json.dumps(sandbox.stats_summary()), err=True)
