"""The one style of every ``--json`` output: snake_case keys, times in ISO 8601 UTC
(``2026-11-23T15:40:42Z``), indented, UTF-8 as is. What is shown whole keeps its own keys: a
Segment event (``dlq show``), a mapping and a JSON Schema (``destinations show``)."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import Any

import click

__all__ = ["echo_json", "iso_utc", "with_iso_times"]


def iso_utc(stamp: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC, to the second; None stays None."""
    return None if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def with_iso_times(value: Any, times: Collection[str]) -> Any:
    """``value`` with every Unix time under one of the keys ``times`` (at any depth) in ISO 8601 UTC."""
    if isinstance(value, dict):
        return {
            key: iso_utc(item) if key in times and isinstance(item, int | float) else with_iso_times(item, times)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [with_iso_times(item, times) for item in value]
    return value


def echo_json(data: Any) -> None:
    """Print ``data`` as every ``--json`` output is printed."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
