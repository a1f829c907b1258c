"""The sandbox's profiles: what it keeps for each visitor, and seeding them from JSON.

A profile is keyed by its mbox3rdPartyId, carries a made-up tntId, and becomes visible to the
profile API at ``visible_at`` (Target takes a while to show a new profile). Each attribute
keeps its value and when it was last set, as Target's profile API reports them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["SandboxProfile", "load_profiles", "now_iso"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class SandboxProfile:
    third_party_id: str
    tnt_id: str
    visible_at: float
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, modifiedAt)
    updates: int = 0
    modified_at: str = field(default_factory=now_iso)

    def set(self, values: Iterable[tuple[str, str]]) -> None:
        stamp = now_iso()
        for name, value in values:
            self.attributes[name] = (value, stamp)
        self.modified_at = stamp
        self.updates += 1


def load_profiles(source: str | Path | list[Any]) -> list[tuple[str, dict[str, str]]]:
    """Seed profiles from a JSON list (or a file holding one) of ids or ``{"mbox3rdPartyId", "attributes"}``."""
    items = json.loads(Path(source).read_text(encoding="utf-8")) if isinstance(source, (str, Path)) else source
    if not isinstance(items, list):
        raise ValueError("a profiles file holds a JSON list")
    seeded: list[tuple[str, dict[str, str]]] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            seeded.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("mbox3rdPartyId"), str):
            attributes = item.get("attributes") or {}
            seeded.append((item["mbox3rdPartyId"], {str(k): str(v) for k, v in attributes.items()}))
        else:
            raise ValueError(f"profiles[{index}]: expected an id or an object with mbox3rdPartyId")
    return seeded
