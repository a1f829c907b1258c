"""Finding destination plugins: the entry-point group ``destkit.destinations`` (name = slug).

The built-in destinations register the same way, in destkit's own ``pyproject.toml``. A
plugin that fails to import does not hide the others: it is reported by name when asked for.
Neither does a slug two installed packages claim: it is an error naming both, never one
silently replacing the other (a plugin cannot shadow a built-in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import PluginError
from .names import did_you_mean
from .plugin import Destination

__all__ = ["ENTRY_POINT_GROUP", "Registry", "default_registry"]

ENTRY_POINT_GROUP = "destkit.destinations"


@dataclass
class Registry:
    """Destinations by slug. Built from entry points, or from objects handed in (tests, embedding)."""

    destinations: dict[str, Destination[Any]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    #: The package that registered each slug, when it came from an entry point.
    packages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_entry_points(cls) -> Registry:
        registry = cls()
        claims: dict[str, list[EntryPoint]] = {}
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            claims.setdefault(entry_point.name, []).append(entry_point)
        for slug, claimants in claims.items():
            if len(claimants) > 1:
                packages = " and ".join(f"{_package(claimant)} ({claimant.value})" for claimant in claimants)
                registry.broken[slug] = f"claimed by two packages, {packages}: uninstall one of them"
            else:
                registry._load(claimants[0])
        return registry

    @classmethod
    def of(cls, *destinations: Destination[Any]) -> Registry:
        registry = cls()
        for destination in destinations:
            registry.add(destination)
        return registry

    def _load(self, entry_point: EntryPoint) -> None:
        try:
            loaded = entry_point.load()
        except Exception as exc:
            self.broken[entry_point.name] = f"{entry_point.value} failed to import: {type(exc).__name__}: {exc}"
            return
        if not isinstance(loaded, Destination):
            self.broken[entry_point.name] = f"{entry_point.value} is a {type(loaded).__name__}, not a destkit Destination"
            return
        if loaded.slug != entry_point.name:
            self.broken[entry_point.name] = (
                f"{entry_point.value} declares slug {loaded.slug!r}, registered as {entry_point.name!r}"
            )
            return
        self.add(loaded)
        self.packages[loaded.slug] = _package(entry_point)

    def owner(self, slug: str) -> str | None:
        """Who has ``slug``, in words: its package, or what makes it unusable; None if no one."""
        if slug in self.broken:
            return self.broken[slug]
        if slug in self.destinations:
            package = self.packages.get(slug)
            return self.destinations[slug].name + (f", from package {package}" if package else "")
        return None

    def add(self, destination: Destination[Any]) -> None:
        self.destinations[destination.slug] = destination

    def get(self, slug: str) -> Destination[Any]:
        if slug in self.destinations:
            return self.destinations[slug]
        if slug in self.broken:
            raise PluginError(f"destination {slug!r} is installed but broken: {self.broken[slug]}")
        known = ", ".join(sorted(self.destinations)) or "none"
        hint = did_you_mean(slug, self.destinations)
        raise PluginError(f"no destination {slug!r} is installed{hint} (installed: {known})")

    def __iter__(self) -> Any:
        return iter(sorted(self.destinations.values(), key=lambda d: d.slug))

    def as_mapping(self) -> Mapping[str, Destination[Any]]:
        return dict(self.destinations)


def _package(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return dist.name if dist is not None else entry_point.value.split(":")[0].split(".")[0]


_default: Registry | None = None


def default_registry() -> Registry:
    """The installed plugins, read once per process."""
    global _default
    if _default is None:
        _default = Registry.from_entry_points()
    return _default
