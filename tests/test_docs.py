"""The code in README.md and docs/*.md runs, so the docs cannot drift from the code."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_python_blocks_run(page, capsys):
    """Each page's python blocks run in order in one namespace, as a reader would run them."""
    blocks = FENCE.findall(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(blocks):
        code = compile(block, f"{page.name} (python block {number + 1})", "exec")
        exec(code, namespace)


def test_pages_with_code_have_python_blocks():
    for name in ["README.md", "docs/derivation.md", "docs/custom-layer.md"]:
        assert FENCE.findall((ROOT / name).read_text(encoding="utf-8")), name


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^```bash\n(.*?)\n```", readme, re.S | re.M)
    assert len(commands) == 2, "the README holds exactly two set-up commands"
    demo, tests = commands
    assert "minnet demo" in demo and "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
