"""``destkit sandbox SLUG``: a destination's local stand-in, from the entry-point group
``destkit.sandboxes`` (name = destination slug), so any plugin can ship one."""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from ._common import Commands

GROUP = "destkit.sandboxes"


class _Sandboxes(Commands):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(entry_point.name for entry_point in entry_points(group=GROUP))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        for entry_point in entry_points(group=GROUP, name=name):
            command = entry_point.load()
            if isinstance(command, click.Command):
                return command
        return None


@click.group(cls=_Sandboxes)
def sandbox() -> None:
    """Run a destination's local sandbox (a real HTTP server on loopback)."""
