"""destkit init: a plugin package whose tests (the standard suite included) pass, installed in
a fresh venv the documented way, and names that are already taken refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from destkit.cli import cli


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def fresh_venv(folder: Path) -> Path:
    """A new venv with neither destkit nor any plugin in it. Third-party packages come from this
    venv (a path file to links, destkit's own left out), so pip needs no index."""
    venv.create(folder, with_pip=False)
    links = folder / "third-party"
    links.mkdir()
    ours = ("destkit", "__editable__", "_destkit")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(ours) and not entry.name.endswith(".pth"):
            (links / entry.name).symlink_to(entry)
    (site,) = (folder / "lib").glob("python3*/site-packages")
    (site / "third-party.pth").write_text(f"{links}\n")
    return folder / "bin" / "python"


def test_init_makes_a_plugin_that_installs_in_a_fresh_venv_and_passes_its_tests(tmp_path: Path, destkit_wheel: Path) -> None:
    code, out, _ = invoke("init", "acme", "--directory", str(tmp_path / "acme"))
    assert code == 0, out
    assert "pip install --find-links" in out
    python = fresh_venv(tmp_path / "venv")
    # The documented route: destkit from the folder holding its wheel, the rest as pip finds it.
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-build-isolation"]
    install += ["--find-links", str(destkit_wheel.parent), "-e", f"{tmp_path / 'acme'}[test]"]
    result = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    where = subprocess.run([python, "-c", "import destkit; print(destkit.__file__)"], capture_output=True, text=True)
    assert str(tmp_path / "venv") in where.stdout  # destkit from its wheel, not from this checkout
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path / "acme",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "18 passed, 1 skipped" in tests.stdout  # its own tests and the standard suite
    listed = subprocess.run([python.with_name("destkit"), "destinations", "list", "--json"], capture_output=True, text=True)
    assert "acme" in {d["slug"] for d in json.loads(listed.stdout)["destinations"]}


@pytest.mark.parametrize("name", ["webhook", "adobe-target"])
def test_init_refuses_the_slug_of_an_installed_destination(name: str, tmp_path: Path) -> None:
    code, _, err = invoke("init", name, "--directory", str(tmp_path / "x"))
    assert code == 2
    assert f"NAME {name!r} is the slug of an installed destination" in err and "from package destkit" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["Acme", "acme_crm", "9acme", "acme--crm"])
def test_init_refuses_a_bad_name(name: str, tmp_path: Path) -> None:
    code, _, err = invoke("init", name, "--directory", str(tmp_path / "x"))
    assert code == 2
    assert "lower-case" in err


def test_init_will_not_overwrite(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    code, _, err = invoke("init", "acme", "--directory", str(tmp_path / "x"))
    assert code == 2 and "not empty" in err
