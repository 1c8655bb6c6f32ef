"""The code in README.md and docs/*.md runs, so the docs cannot drift from the code."""

import re
from pathlib import Path

import pytest

from minnet.testing.case import _CheckCase

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
    # test classes a page defines (LayerTestCase subclasses) run as pytest would run them
    for name, value in namespace.items():
        if name.startswith("Test") and isinstance(value, type) and issubclass(value, _CheckCase):
            case = value()
            for method in (m for m in dir(case) if m.startswith("test_")):
                getattr(case, method)()


def test_pages_with_code_have_python_blocks():
    for name in [
        "README.md",
        "docs/derivation.md",
        "docs/custom-layer.md",
        "docs/testing.md",
        "docs/layers.md",
        "docs/custom-network.md",
        "docs/training.md",
    ]:
        assert FENCE.findall((ROOT / name).read_text(encoding="utf-8")), name


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^```bash\n(.*?)\n```", readme, re.S | re.M)
    assert len(commands) == 2, "the README holds exactly two set-up commands"
    demo, tests = commands
    assert "minnet demo" in demo
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_custom_layer_guide_proves_a_layer_with_layer_test_case_in_under_15_lines():
    blocks = FENCE.findall((ROOT / "docs" / "custom-layer.md").read_text(encoding="utf-8"))
    kit_blocks = [block for block in blocks if "LayerTestCase" in block]
    assert kit_blocks
    assert len(kit_blocks[0].strip().splitlines()) < 15
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "custom-layer.md", "exec"), namespace)
    cases = [v for k, v in namespace.items() if k.startswith("Test") and isinstance(v, type)]
    assert cases
    assert all(issubclass(case, _CheckCase) for case in cases)


def test_readme_lists_every_docs_page_and_its_example_is_ten_lines():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").rglob("*.md")):
        name = str(page.relative_to(ROOT))
        assert name == "docs/index.md" or f"]({name})" in readme, f"README's docs list misses {name}"
    example = readme.split("## Ten lines")[1].split("```python\n")[1].split("```")[0]
    code = [line for line in example.splitlines() if line.strip() and not line.startswith("import ")]
    assert len(code) <= 10, code


def test_install_page_lists_every_extra():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[project.optional-dependencies]")[1].split("\n[")[0]
    extras = re.findall(r"^([\w-]+) = \[", section, re.M)
    assert "plot" in extras
    assert "test" in extras
    install = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    for extra in extras:
        assert extra == "dev" or f"| `{extra}` |" in install, f"docs/install.md does not list the {extra} extra"
