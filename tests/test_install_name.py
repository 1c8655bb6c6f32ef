"""minnet's distribution name, its install hints and its extras.

The name ``minnet`` on the public package index belongs to an unrelated project, so minnet is
distributed as ``minnet-nn`` (imported as ``minnet``). These tests keep every hint in the code and
the docs pointing at minnet itself, for a user in a checkout and for one who is not, and keep the
heavy development tools out of what a user must install.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import minnet
from minnet import _install

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: Development tools a user of minnet must never be made to install.
HEAVY = ("torch", "mkdocs", "mypy", "ruff")
#: Extras for working on minnet, which may bring them.
DEVELOPMENT_EXTRAS = {"test", "dev", "docs", "torch", "onnx"}


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    paths = [ROOT / line for line in listed.splitlines() if line.endswith((".py", ".md", ".toml", ".txt", ".yml"))]
    return [path for path in paths if path.is_file() and path.name != Path(__file__).name]


def test_the_distribution_name_is_not_the_taken_one():
    assert PYPROJECT["name"] == _install.DISTRIBUTION == "minnet-nn"


# `minnet[` not preceded by a name character or "-" (so "minnet-nn[plot]" is fine), and
# "pip install minnet" followed by the end of the name.
_WRONG_HINTS = (re.compile(r"(?<![\w.-])minnet\["), re.compile(r"pip install (?:-U |--upgrade )?minnet(?![\w-])"))


def test_no_file_tells_a_user_to_install_the_unrelated_minnet():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    wrong = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(pattern.search(line) for pattern in _WRONG_HINTS) and "unrelated project" not in line
    ]
    assert wrong == []


def test_the_wrong_hint_patterns_catch_what_they_should():
    assert _WRONG_HINTS[0].search('pip install "minnet[plot]"')
    assert _WRONG_HINTS[1].search("pip install minnet")
    assert not any(p.search('pip install "minnet-nn[plot]"') for p in _WRONG_HINTS)
    assert not any(p.search('pip install -e ".[plot]"') for p in _WRONG_HINTS)


def test_hint_in_a_checkout_installs_from_the_checkout():
    assert _install.checkout_root() == ROOT
    assert _install.install_hint("plot") == f'pip install -e "{ROOT}[plot]"'


def test_hint_outside_a_checkout_names_the_distribution(tmp_path):
    # a copy of the package with no pyproject.toml beside it, as a wheel installs it
    site = tmp_path / "site-packages"
    (site / "minnet").mkdir(parents=True)
    (site / "minnet" / "_install.py").write_text((ROOT / "minnet" / "_install.py").read_text(encoding="utf-8"))
    (site / "minnet" / "__init__.py").write_text("")
    code = "from minnet._install import install_hint; print(install_hint('plot'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == 'pip install "minnet-nn[plot]"'


def test_a_checkout_of_another_project_is_not_taken_for_minnets(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "minnet"\n')
    (tmp_path / "minnet").mkdir()
    (tmp_path / "minnet" / "_install.py").write_text((ROOT / "minnet" / "_install.py").read_text(encoding="utf-8"))
    (tmp_path / "minnet" / "__init__.py").write_text("")
    code = "from minnet._install import install_hint; print(install_hint('plot'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == 'pip install "minnet-nn[plot]"'


def test_a_missing_optional_package_names_the_right_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    from minnet.serialization import _import_safetensors

    with pytest.raises(ImportError, match=re.escape(_install.install_hint("safetensors"))):
        _import_safetensors()


def test_a_user_needs_only_numpy_and_typing_extensions():
    names = sorted(re.split(r"[<>=\[ ;]", requirement)[0] for requirement in PYPROJECT["dependencies"])
    assert names == ["numpy", "typing-extensions"]


@pytest.mark.parametrize("extra", sorted(set(PYPROJECT["optional-dependencies"]) - DEVELOPMENT_EXTRAS))
def test_user_extras_bring_no_development_tools(extra):
    requirements = PYPROJECT["optional-dependencies"][extra]
    assert not [r for r in requirements if r.split("[")[0].split("=")[0].split(">")[0].strip() in HEAVY]


def test_install_page_says_what_each_extra_brings():
    page = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([\w-]+)` \|", page, flags=re.MULTILINE))
    assert rows == set(PYPROJECT["optional-dependencies"])


def test_installed_metadata_is_under_the_new_name():
    from importlib import metadata

    assert metadata.version(_install.DISTRIBUTION) == minnet.__version__
