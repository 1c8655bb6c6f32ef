"""The documentation site: printed outputs shown in the docs are what the code prints,
and `mkdocs build --strict` succeeds (offline)."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks_with_shown_output(page: Path) -> list[tuple[str, str | None]]:
    """Each python block with the ```text block that follows it directly, if any."""
    fences = FENCE.findall(page.read_text(encoding="utf-8"))
    result = []
    for i, (language, code) in enumerate(fences):
        if language == "python":
            after = fences[i + 1] if i + 1 < len(fences) else None
            result.append((code, after[1] if after and after[0] == "text" else None))
    return result


PAGES_WITH_OUTPUT = [p for p in PAGES if any(shown for _, shown in blocks_with_shown_output(p))]


@pytest.mark.parametrize("page", PAGES_WITH_OUTPUT, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_OUTPUT])
def test_shown_output_is_what_the_code_prints(page):
    """A ```text block right after a ```python block shows what that block prints."""
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, (code, shown) in enumerate(blocks_with_shown_output(page)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page.name} (python block {number + 1})", "exec"), namespace)
        if shown is not None:
            printed = "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
            expected = "\n".join(line.rstrip() for line in shown.rstrip("\n").splitlines())
            assert printed == expected, f"{page.name}, python block {number + 1}: the output shown differs"


def test_the_trace_table_pasted_into_the_first_tutorial_is_current():
    import minnet
    from minnet.derivation import build_network, make_data, trace

    page = (ROOT / "docs" / "tutorials" / "derivation-to-code.md").read_text(encoding="utf-8")
    pasted = page.split("<!-- trace-table -->\n")[1].split("\n<!-- /trace-table -->")[0]
    X, Y = make_data()
    assert pasted == trace(build_network(0), minnet.MSELoss(), X, Y).to_markdown()


def test_pages_in_nav_exist_and_every_page_is_in_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    in_nav = set(re.findall(r"^\s*- (?:[^:\n]+: )?([\w/.-]+\.md)\s*$", config, re.M))
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in PAGES}
    assert in_nav == on_disk


def test_mkdocs_build_strict(tmp_path):
    """The site builds with no warning (broken link, missing page, bad API reference), offline."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "tutorials" / "derivation-to-code" / "index.html").exists()
    steps = (tmp_path / "site" / "derivation-steps.html").read_text(encoding="utf-8")  # docs/hooks/derivation_page.py
    assert "∂ŷ/∂O = ŷ ⊙ (1 − ŷ)" in steps
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "register_forward_hook" in api
    assert "∂y/∂x" in api
    assert ":class:" not in api
    assert ":meth:" not in api


def test_the_first_tutorial_checks_every_local_derivative_of_the_derivation_by_hand():
    """A newcomer sees each of the five steps with its numbers: every row of the trace is
    read in a python block whose shown output is checked above."""
    page = ROOT / "docs" / "tutorials" / "derivation-to-code.md"
    code = "\n".join(code for code, shown in blocks_with_shown_output(page) if shown)
    for row in range(5):
        assert f"steps[{row}]" in code, f"the tutorial never shows step {row + 1}'s numbers"


def test_the_home_page_trace_tells_the_two_weight_matrices_apart():
    page = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    shown = next(out for _, out in blocks_with_shown_output(ROOT / "docs" / "index.md") if out)
    assert "∂L/∂W1 = Xᵀ ∂L/∂H" in shown
    assert "∂L/∂W2 = Zᵀ ∂L/∂O" in shown
    assert "| call | what it shows |" in page  # the tools table has a header a reader can read
