"""``destkit sandbox adobe-target``: serve the Adobe Target sandbox in the foreground."""

from __future__ import annotations

import asyncio
import json

import click

from .sandbox import AdobeTargetSandbox


@click.command("adobe-target")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on (0 picks a free one).")
@click.option(
    "--profiles", type=click.Path(exists=True, dir_okay=False), help="JSON list of ids or {mbox3rdPartyId, attributes}."
)
@click.option(
    "--visibility-delay", default=0.0, show_default=True, help="Seconds before a new profile is visible to the profile API."
)
@click.option("--fault-rate", default=0.0, show_default=True, help="Fraction of API calls answered 500, 503 or 429.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Extra latency per answer, in milliseconds (jittered).")
@click.option(
    "--fault-retry-after", default=1.0, show_default=True, help="Retry-After (seconds) of injected 429 and 503 answers."
)
@click.option("--seed", type=int, help="Makes faults and latency repeatable.")
@click.option(
    "--bearer-token", envvar="ADOBE_TARGET_SANDBOX_TOKEN", help="Require this bearer token (or set ADOBE_TARGET_SANDBOX_TOKEN)."
)
def command(
    host: str,
    port: int,
    profiles: str | None,
    visibility_delay: float,
    fault_rate: float,
    latency_ms: float,
    fault_retry_after: float,
    seed: int | None,
    bearer_token: str | None,
) -> None:
    """A local Adobe Target: profile fetch, single and bulk updates, Delivery API, faults."""
    if not 0.0 <= fault_rate <= 1.0:
        raise click.BadParameter("a fraction between 0 and 1", param_hint="--fault-rate")
    try:
        sandbox = AdobeTargetSandbox(
            profiles=profiles,
            visibility_delay=visibility_delay,
            fault_rate=fault_rate,
            latency_ms=latency_ms,
            fault_retry_after=fault_retry_after,
            seed=seed,
            bearer_token=bearer_token,
            host=host,
            port=port,
        )
    except (ValueError, OSError) as exc:
        raise click.UsageError(f"--profiles: {exc}") from None
    click.echo(f"Adobe Target sandbox on http://{host}:{port} ({len(sandbox.profiles)} profile(s) seeded)", err=True)
    click.echo(f"inspect: http://{host}:{port}/_sandbox/stats and /_sandbox/profiles/<mbox3rdPartyId>", err=True)
    try:
        asyncio.run(sandbox.serve_forever())
    except KeyboardInterrupt:
        click.echo(json.dumps(sandbox.stats_summary()), err=True)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc}") from None
