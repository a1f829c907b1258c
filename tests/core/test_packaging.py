"""The built wheel holds the card's folders under the one namespace destkit, and nothing else."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"core": "destkit", "mappings": "destkit.mappings", "destinations": "destkit.destinations"}


def test_every_package_folder_is_declared() -> None:
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    found.add("destkit.scaffold")  # templates only
    assert found == declared


def test_the_wheel_installs_destkit_only(destkit_wheel: Path) -> None:
    wheel = destkit_wheel
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"destkit", wheel.name.split("-py3")[0] + ".dist-info"}
    for expected in (
        "destkit/runtime.py",
        "destkit/mappings/directives.py",
        "destkit/destinations/webhook/send.py",
        "destkit/scaffold/send_event.py.tmpl",
        "destkit/py.typed",
    ):
        assert expected in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "webhook = destkit.destinations.webhook:destination" in entry_points
    assert "destkit = destkit.cli:main" in entry_points


def test_the_public_api_is_importable() -> None:
    import destkit

    for name in (
        "Runtime",
        "Destination",
        "Action",
        "compile_mapping",
        "compile_trigger",
        "DestkitError",
        "DeliveryError",
        "ConfigError",
        "MappingError",
        "TriggerSyntaxError",
    ):
        assert name in destkit.__all__
        assert getattr(destkit, name) is not None
