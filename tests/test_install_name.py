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


def _hint_of_a_copy(folder: Path, pyproject: str | None) -> str:
    """install_hint('plot') as a copy of minnet/_install.py in ``folder`` gives it, with ``pyproject``
    (or none) beside the package, in a fresh interpreter."""
    (folder / "minnet").mkdir(parents=True)
    (folder / "minnet" / "_install.py").write_text((ROOT / "minnet" / "_install.py").read_text(encoding="utf-8"))
    (folder / "minnet" / "__init__.py").write_text("")
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    code = "from minnet._install import install_hint; print(install_hint('plot'))"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env={"PYTHONPATH": str(folder)}, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_hint_outside_a_checkout_names_the_distribution(tmp_path):
    # a copy of the package with no pyproject.toml beside it, as a wheel installs it
    assert _hint_of_a_copy(tmp_path / "site-packages", None) == 'pip install "minnet-nn[plot]"'


def test_a_checkout_of_another_project_is_not_taken_for_minnets(tmp_path):
    assert _hint_of_a_copy(tmp_path, '[project]\nname = "minnet"\n') == 'pip install "minnet-nn[plot]"'


def test_a_checkout_of_minnet_gives_the_editable_install(tmp_path):
    hint = _hint_of_a_copy(tmp_path, '[project]\nname = "minnet-nn"\n')
    assert hint == f'pip install -e "{tmp_path}[plot]"'


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
