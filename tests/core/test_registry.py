"""Finding plugins by entry point: two packages claiming one slug is an error naming both."""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit import PluginError
from destkit.registry import Registry


def install(site: Path, package: str, entry_points: str) -> None:
    """A distribution's metadata, as pip leaves it, declaring ``entry_points``."""
    info = site / f"{package.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[destkit.destinations]\n{entry_points}\n")


def test_a_plugin_claiming_a_built_in_slug_is_an_error_naming_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "destkit-shadow", "webhook = destkit_shadow:destination")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points()
    with pytest.raises(PluginError) as caught:
        registry.get("webhook")
    message = str(caught.value)
    assert "claimed by two packages" in message
    assert "destkit-shadow (destkit_shadow:destination)" in message
    assert "destkit (destkit.destinations.webhook:destination)" in message
    assert registry.get("adobe-target").slug == "adobe-target"  # the others are not hidden


def test_two_plugins_claiming_one_slug_are_both_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "destkit-acme", "acme = destkit_acme:destination")
    install(tmp_path, "acme-fork", "acme = acme_fork:destination")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as caught:
        Registry.from_entry_points().get("acme")
    assert "destkit-acme (destkit_acme:destination)" in str(caught.value)
    assert "acme-fork (acme_fork:destination)" in str(caught.value)


def test_an_installed_destination_says_which_package_it_came_from() -> None:
    registry = Registry.from_entry_points()
    assert registry.owner("webhook") == "Webhook, from package destkit"
    assert registry.owner("nope") is None
