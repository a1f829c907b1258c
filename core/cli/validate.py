"""``destkit validate``: check a config completely, sending nothing, and tell every mistake."""

from __future__ import annotations

import sys

import click

from ..compiling import compile_config
from ..config import load_config
from ..errors import ConfigError, ConfigErrors
from ._common import USAGE_ERROR, config_errors, echo_error, echo_warnings


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
def validate(config_path: str) -> None:
    """Check a config: plugins, settings, subscriptions, triggers and mappings.

    Every mistake is reported, one `error:` line each with its location, and the exit code is 2;
    warnings never change the exit code.
    """
    problems: list[str] = []
    with config_errors():  # a file that cannot be read or parsed at all: nothing more to check
        config = load_config(config_path, problems)
    subscriptions = compile_config(config, problems=problems)
    if config.declares_serve:  # what only `destkit serve` reads is checked as it checks it
        try:
            config.serve_options()
        except ConfigError as exc:
            problems.append(str(exc))
    echo_warnings(subscriptions)
    if problems:
        echo_error(ConfigErrors(problems))
        click.echo(f"{config_path}: {len(problems)} error(s)", err=True)
        sys.exit(USAGE_ERROR)
    destinations = {sub.destination.name for sub in subscriptions}
    click.echo(f"{config_path}: ok ({len(destinations)} destination(s), {len(subscriptions)} subscription(s))")
    for sub in subscriptions:
        click.echo(f"  {sub.destination.name}/{sub.name}: {sub.action.slug} when {sub.trigger_source}")
