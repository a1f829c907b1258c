"""``destkit destinations list|show``: what is installed, and what each destination takes."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..registry import default_registry
from ..schema import describe_destination
from ._common import Commands, config_errors
from ._json import echo_json


@click.group(cls=Commands)
def destinations() -> None:
    """List installed destinations, or show one in detail."""


@destinations.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_destinations(as_json: bool) -> None:
    """List the installed destination plugins."""
    registry = default_registry()
    rows = [
        {"slug": d.slug, "name": d.name, "actions": [a.slug for a in d.actions], "description": d.description} for d in registry
    ]
    if as_json:
        echo_json({"destinations": rows, "broken": registry.broken})
        return
    table = Table("slug", "name", "actions", "description", box=None, pad_edge=False)
    for row in rows:
        table.add_row(row["slug"], row["name"], ", ".join(row["actions"]), row["description"])
    console = Console()
    console.print(table)
    for slug, problem in registry.broken.items():
        console.print(f"[red]broken[/red] {slug}: {problem}", highlight=False)


@destinations.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the JSON Schemas) instead of tables.")
def show_destination(slug: str, as_json: bool) -> None:
    """Show a destination's settings, actions, fields, default mappings and presets."""
    with config_errors():
        described = describe_destination(default_registry().get(slug))
    if as_json:
        echo_json(described)
        return
    console = Console()
    console.print(f"[bold]{described['name']}[/bold] ({described['slug']}): {described['description']}", highlight=False)
    console.print(_fields_table("Settings", described["settings"], mapping=False))
    for action in described["actions"]:
        console.print(
            f"\n[bold]action {action['slug']}[/bold]: {action['description']}\n"
            f"  default trigger: {action['default_trigger'] or '(none: a subscription must give one)'}\n"
            f"  batching: {action['batching']}" + (f" (up to {action['batch_size']})" if action["batch_size"] else ""),
            highlight=False,
        )
        console.print(_fields_table("fields", action["fields"], mapping=True))
    if described["presets"]:
        console.print("\n[bold]presets[/bold] (used when a destination is configured without subscriptions)")
        for preset in described["presets"]:
            console.print(
                f"  {preset['name']}: {preset['action']}" + (f" when {preset['trigger']}" if preset["trigger"] else ""),
                highlight=False,
            )


def _fields_table(title: str, rows: list[dict[str, Any]], mapping: bool) -> Table:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for column in ("field", "type", "required", "default mapping" if mapping else "default", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        default = row["default_mapping"] if mapping else row["default"]
        shown = "" if default is None else json.dumps(default)
        if mapping and not shown and row["default"] is not None:
            shown = f"(value {json.dumps(row['default'])})"
        kind = row["type"] + (" (secret)" if row["secret"] else "")
        table.add_row(row["name"], kind, "yes" if row["required"] else "no", shown, row["description"])
    return table
