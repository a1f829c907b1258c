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
from typing import Any, TextIO

from .errors import PayloadValidationError
from .state import StateStore, StoredProfile

__all__ = ["Profiles", "StoredProfile", "StoredProfiles", "PrintedProfiles"]

Attributes = dict[str, Any] | None


def _no_nul(identities: Mapping[str, str]) -> None:
    for namespace, identity in identities.items():
        if "\x00" in namespace:
            raise PayloadValidationError(f"identities: the namespace {namespace!r} holds a NUL character (\\u0000)")
        if "\x00" in identity:  # the identity is not repeated: it may be an email address
            raise PayloadValidationError(f"identities: the {namespace!r} identity holds a NUL character (\\u0000)")


class Profiles:
    """One destination's profiles, keyed by identity: (namespace, id), e.g. ``("userId", "u1")``."""

    destination: str

    async def update(
        self,
        identities: Mapping[str, str],
        *,
        audiences: Mapping[str, bool] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """For each identity: enter the audiences marked True, leave those marked False, and set
        the attributes (None removes one). Identities not seen before get a profile.

        An identity or namespace holding a NUL character is refused, before anything is kept:
        it is a key in the state store, and PostgreSQL's text cannot hold one."""
        _no_nul(identities)
        audiences = audiences or {}
        entered = [audience for audience, member in audiences.items() if member]
        exited = [audience for audience, member in audiences.items() if not member]
        await self._apply(dict(identities), entered, exited, dict(attributes) if attributes else None)

    async def get(self, namespace: str, identity: str) -> StoredProfile | None:
        raise NotImplementedError

    async def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        raise NotImplementedError


class StoredProfiles(Profiles):
    """Profiles in the state store's ``profiles`` table, one row per identity; each update is
    one transaction, so processes sharing the store never lose each other's changes."""

    def __init__(self, store: StateStore, destination: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.destination = destination
        self.clock = clock

    async def get(self, namespace: str, identity: str) -> StoredProfile | None:
        return await self.store.profile(self.destination, namespace, identity)

    async def count(self) -> int:
        return await self.store.profile_count(self.destination)

    async def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        await self.store.update_profiles(self.destination, identities, entered, exited, attributes, self.clock())


class PrintedProfiles(Profiles):
    """A dry run's profiles: each update is printed as one line, and nothing is kept."""

    def __init__(self, out: TextIO, destination: str, redact: Callable[[str], str]) -> None:
        self.out = out
        self.destination = destination
        self.redact = redact

    async def get(self, namespace: str, identity: str) -> StoredProfile | None:
        return None

    async def _apply(self, identities: dict[str, str], entered: list[str], exited: list[str], attributes: Attributes) -> None:
        parts = [f"PROFILE {self.destination}", " ".join(f"{ns}={value}" for ns, value in identities.items())]
        changes = [f"+{audience}" for audience in entered] + [f"-{audience}" for audience in exited]
        if changes:
            parts.append(" ".join(changes))
        if attributes:
            parts.append("attributes=" + json.dumps(attributes, ensure_ascii=False, separators=(",", ":")))
        self.out.write(self.redact("  ".join(parts)) + "\n")
