"""Profiles a destination keeps itself: ``ctx.profiles`` in an action.

Most destinations send each event somewhere. A profile-request destination (AEP's Custom
Personalization, Adobe Target on AEP) is asked instead: a page asks for one person's
audiences when it renders. Its actions keep, per identity, the audiences the person is in and
chosen attributes, in the state store; ``destkit serve`` answers the lookups from there
(:mod:`destkit.edge`).

The runtime hands each action the :class:`Profiles` of its destination: stored ones with a
state store, printed ones in a dry run (nothing kept), none otherwise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from .state import StateStore

__all__ = ["Profiles", "StoredProfile", "StoredProfiles", "PrintedProfiles"]

Attributes = dict[str, Any] | None


@dataclass(frozen=True)
class StoredProfile:
    """What a destination keeps for one identity: audience ids in the order they were entered,
    and attributes by name."""

    segments: list[str]
    attributes: dict[str, Any]
    updated_at: float


class Profiles:
    """One destination's profiles, keyed by identity: (namespace, id), e.g. ``("userId", "u1")``."""

    destination: str

    def update(
        self,
        identities: Mapping[str, str],
        *,
        audiences: Mapping[str, bool] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """For each identity: enter the audiences marked True, leave those marked False, and set
        the attributes (None removes one). Identities not seen before get a profile."""
        audiences = audiences or {}
        entered = [audience for audience, member in audiences.items() if member]
        exited = [audience for audience, member in audiences.items() if not member]
        self._apply(dict(identities), entered, exited, dict(attributes) if attributes else None)

    def get(self, namespace: str, identity: str) -> StoredProfile | None:
        raise NotImplementedError

    def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        raise NotImplementedError


class StoredProfiles(Profiles):
    """Profiles in the state store's ``profiles`` table, one row per identity; each update is
    one transaction, so two processes sharing the file never lose each other's changes."""

    def __init__(self, store: StateStore, destination: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.destination = destination
        self.clock = clock

    def get(self, namespace: str, identity: str) -> StoredProfile | None:
        row = self.store.db.execute(
            "SELECT segments, attributes, updated_at FROM profiles WHERE destination = ? AND namespace = ? AND identity = ?",
            (self.destination, namespace, identity),
        ).fetchone()
        return None if row is None else StoredProfile(json.loads(row[0]), json.loads(row[1]), float(row[2]))

    def count(self) -> int:
        row = self.store.db.execute("SELECT COUNT(*) FROM profiles WHERE destination = ?", (self.destination,)).fetchone()
        return int(row[0])

    def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        now, left = self.clock(), set(exited)
        with self.store.transaction() as db:
            for namespace, identity in identities.items():
                profile = self.get(namespace, identity)
                segments = [s for s in profile.segments if s not in left] if profile else []
                segments += [s for s in entered if s not in segments]
                kept = dict(profile.attributes) if profile else {}
                for name, value in (attributes or {}).items():
                    if value is None:
                        kept.pop(name, None)
                    else:
                        kept[name] = value
                db.execute(
                    "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?, ?, ?)",
                    (self.destination, namespace, identity, json.dumps(segments), json.dumps(kept, ensure_ascii=False), now),
                )


class PrintedProfiles(Profiles):
    """A dry run's profiles: each update is printed as one line, and nothing is kept."""

    def __init__(self, out: TextIO, destination: str, redact: Callable[[str], str]) -> None:
        self.out = out
        self.destination = destination
        self.redact = redact

    def get(self, namespace: str, identity: str) -> StoredProfile | None:
        return None

    def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        parts = [f"PROFILE {self.destination}", " ".join(f"{ns}={value}" for ns, value in identities.items())]
        changes = [f"+{audience}" for audience in entered] + [f"-{audience}" for audience in exited]
        if changes:
            parts.append(" ".join(changes))
        if attributes:
            parts.append("attributes=" + json.dumps(attributes, ensure_ascii=False, separators=(",", ":")))
        self.out.write(self.redact("  ".join(parts)) + "\n")
