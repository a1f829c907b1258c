"""destkit init: a plugin package whose tests (the standard suite included) pass, and names
that are already taken refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from destkit.cli import cli


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_a_plugin_whose_tests_pass(tmp_path: Path) -> None:
    code, out, _ = invoke("init", "acme-crm", "--directory", str(tmp_path / "acme"))
    assert code == 0, out
    project = tmp_path / "acme"
    assert (project / "destkit_acme_crm" / "send_event.py").is_file()
    assert 'acme-crm = "destkit_acme_crm:destination"' in (project / "pyproject.toml").read_text()
    env = {**os.environ, "PYTHONPATH": str(project)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "18 passed, 1 skipped" in result.stdout  # its own tests and the standard suite


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
