"""``destkit map`` and ``destkit trigger``: try a mapping or a trigger on one event."""

from __future__ import annotations

import json

import click

from ..mappings import compile_mapping, compile_trigger
from ._common import config_errors, read_json_argument


@click.command("map")
@click.argument("mapping")
@click.argument("event")
def map_command(mapping: str, event: str) -> None:
    """Print the payload MAPPING makes of EVENT (each a file, inline JSON, or -)."""
    with config_errors():
        apply = compile_mapping(read_json_argument(mapping, "mapping"))
        click.echo(json.dumps(apply(read_json_argument(event, "event")), indent=2, ensure_ascii=False))


@click.command("trigger")
@click.argument("expression")
@click.argument("event")
def trigger_command(expression: str, event: str) -> None:
    """Print true or false: does EXPRESSION match EVENT (a file, inline JSON, or -)?"""
    with config_errors():
        matches = compile_trigger(expression)
        click.echo("true" if matches(read_json_argument(event, "event")) else "false")
