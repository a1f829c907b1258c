"""``destkit validate``: check a config completely, sending nothing."""

from __future__ import annotations

import click

from ..config import compile_config, load_config
from ._common import config_errors, echo_warnings


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
def validate(config_path: str) -> None:
    """Check a config: plugins, settings, subscriptions, triggers and mappings."""
    with config_errors():
        config = load_config(config_path)
        subscriptions = compile_config(config)
        if config.declares_serve:  # what only `destkit serve` reads is checked as it checks it
            config.serve_options()
    echo_warnings(subscriptions)
    destinations = {sub.destination.name for sub in subscriptions}
    click.echo(f"{config_path}: ok ({len(destinations)} destination(s), {len(subscriptions)} subscription(s))")
    for sub in subscriptions:
        click.echo(f"  {sub.destination.name}/{sub.name}: {sub.action.slug} when {sub.trigger_source}")
