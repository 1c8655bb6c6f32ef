"""Lint, formatting and types are part of the test suite, so main stays clean."""

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import minnet
from minnet._install import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_check():
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format():
    done = run("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_on_the_package(tmp_path):
    done = run("mypy", "--cache-dir", str(tmp_path), "minnet")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_config_is_strict(tmp_path):
    """The package is checked with strict on: relaxations go into a per-module override, with their reason."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    table = pyproject.split("\n[tool.mypy]\n", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^strict = true$", table, re.MULTILINE), "[tool.mypy] must set strict = true"
    for relaxation in ("strict = false", "strict_optional = false", "ignore_errors = true"):
        assert relaxation not in pyproject, f"pyproject.toml turns off what strict checks: {relaxation}"
    # and mypy reads it so: an untyped function and an implicit Optional are errors
    done = run("mypy", "--cache-dir", str(tmp_path), "-c", "def f(x): return x\ny: int = None\n")
    assert "[no-untyped-def]" in done.stdout, done.stdout + done.stderr
    assert "[assignment]" in done.stdout, done.stdout + done.stderr


def test_the_installed_version_is_minnet_version():
    """pyproject.toml takes the version from minnet.__version__, so the two cannot differ. The distribution
    is named minnet-nn (minnet._install.DISTRIBUTION); the import name is minnet."""
    assert importlib.metadata.version(DISTRIBUTION) == minnet.__version__
