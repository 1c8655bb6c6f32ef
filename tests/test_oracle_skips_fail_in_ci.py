"""tests/conftest.py: under CI=true a skipped oracle test fails; elsewhere it stays a skip."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

FILES = {
    "pytest.ini": "[pytest]\nmarkers =\n    oracle: compared with PyTorch\n",
    # an oracle test whose reference library is missing, as where torch is not installed
    "test_marked.py": (
        "import pytest\n\n"
        "@pytest.mark.oracle\n"
        "def test_compare():\n"
        "    pytest.importorskip('minnet_no_such_reference_library', reason='reference missing')\n"
    ),
    # a whole oracle module skipped at import
    "test_oracle_module.py": "import pytest\n\npytest.importorskip('minnet_no_such_reference_library')\n\n"
    "def test_compare():\n    pass\n",
    # an ordinary skip is not an oracle test: it stays a skip
    "test_plain.py": "import pytest\n\ndef test_other():\n    pytest.skip('not an oracle test')\n",
}


def run(tmp_path: Path, ci: str | None, files: list[str]) -> subprocess.CompletedProcess:
    for name in ["pytest.ini", *files]:
        (tmp_path / name).write_text(FILES[name])
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_outside_ci_oracle_skips_stay_skips(tmp_path):
    result = run(tmp_path, None, ["test_marked.py", "test_oracle_module.py", "test_plain.py"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 skipped" in result.stdout, result.stdout


def test_under_ci_a_skipped_oracle_test_fails(tmp_path):
    result = run(tmp_path, "true", ["test_marked.py", "test_plain.py"])
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 skipped" in out, out  # the plain skip stays a skip
    assert "oracle test skipped under CI=true (Skipped: reference missing)" in out, out


def test_under_ci_a_skipped_oracle_module_fails(tmp_path):
    result = run(tmp_path, "true", ["test_oracle_module.py"])
    out = result.stdout
    assert result.returncode != 0, out + result.stderr
    assert "ERROR collecting test_oracle_module.py" in out, out
    assert "CI must run the comparison" in out, out


@pytest.mark.parametrize("marker", ["browser", "graphviz"])
def test_under_ci_a_skipped_browser_or_graphviz_test_fails(tmp_path, monkeypatch, marker):
    """The page tests skip where Chromium is missing, the drawing tests where dot is: under CI both fail."""
    monkeypatch.setitem(FILES, "pytest.ini", f"[pytest]\nmarkers =\n    {marker}: needs a program\n")
    monkeypatch.setitem(
        FILES,
        "test_draw.py",
        f"import pytest\n\n@pytest.mark.{marker}\ndef test_draw():\n    pytest.skip('no program')\n",
    )
    result = run(tmp_path, "true", ["test_draw.py", "test_plain.py"])
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 skipped" in out, out
    assert f"{marker} test skipped under CI=true (Skipped: no program)" in out, out
