"""``destkit init NAME``: a new destination plugin package whose tests pass from the start."""

from __future__ import annotations

import re
import sys
from importlib.resources import files
from pathlib import Path
from string import Template

import click

from ..registry import default_registry

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")

# template file -> where it goes, relative to the new project
_LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "settings.py.tmpl": "{package}/settings.py",
    "send_event.py.tmpl": "{package}/send_event.py",
    "test_send_event.py.tmpl": "tests/test_send_event.py",
    "test_standard.py.tmpl": "tests/test_standard.py",
}


@click.command()
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False), help="Where to create it (default: ./destkit-NAME).")
def init(name: str, directory: str | None) -> None:
    """Create a destination plugin package NAME (lower-case, words joined by '-')."""
    if not _NAME.match(name):
        raise click.UsageError(f"NAME {name!r} must be lower-case letters and digits, words joined by '-' (e.g. acme-crm)")
    taken = default_registry().owner(name)
    if taken is not None:
        raise click.UsageError(f"NAME {name!r} is the slug of an installed destination ({taken}): choose another")
    target = Path(directory or f"destkit-{name}")
    if target.exists() and any(target.iterdir()):
        click.echo(f"error: {target} already exists and is not empty", err=True)
        sys.exit(2)
    package = "destkit_" + name.replace("-", "_")
    values = {
        "slug": name,
        "package": package,
        "title": " ".join(word.capitalize() for word in name.split("-")),
        "env_name": name.replace("-", "_").upper(),
    }
    templates = files("destkit").joinpath("scaffold")
    for template_name, destination in _LAYOUT.items():
        path = target / destination.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = Template(templates.joinpath(template_name).read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
    click.echo(f"created {target}/ (package {package}, destination slug {name!r})")
    click.echo(f"next: cd {target} && pip install --find-links DIR -e '.[test]' && pytest")
    click.echo("  (destkit is on no package index: DIR holds its wheel, which `make wheel` writes to dist/ in its checkout)")
