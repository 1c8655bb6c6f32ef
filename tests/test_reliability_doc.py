"""docs/reliability.md names, for each guarantee, the tests that prove it: each named test exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reliability.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_cited_test_exists():
    cited = CITED.findall(PAGE.read_text(encoding="utf-8"))
    assert len(cited) >= 40
    missing = [f"{file}::{name}" for file, name in cited if name not in _test_names(ROOT / file)]
    assert missing == []


def test_every_row_cites_a_test():
    rows = [line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    guarantees = [row for row in rows if not row.startswith(("| guarantee", "|---"))]
    assert guarantees
    assert [row for row in guarantees if not CITED.search(row)] == []


# the first line of each warning minnet gives: the string literal opening a warnings.warn call
_MINNETS_WARNINGS = re.compile(r"warnings\.warn\(\s*f?\"([^\"]*)\"")
_IGNORED = re.compile(r"(?:filterwarnings|simplefilter)\(\s*[\"']ignore(?::([^:\"']*))?")


def _minnets_warnings() -> list[str]:
    """Each warning's first line with every ``{...}`` field filled in, as a message it can give."""
    texts = [
        m.group(1)
        for path in (ROOT / "minnet").rglob("*.py")
        for m in _MINNETS_WARNINGS.finditer(path.read_text(encoding="utf-8"))
    ]
    return [re.sub(r"\{[^}]*\}", "X", text) for text in texts]


def test_warnings_are_errors_and_none_of_minnets_is_ignored():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^filterwarnings = \["error"\]$', pyproject, flags=re.MULTILINE)
    warnings = _minnets_warnings()
    assert len(warnings) >= 3  # the dropout, fit and ModelCheckpoint warnings when this test was written
    ignored = [
        (path.name, m.group(1) or "")
        for path in [*(ROOT / "tests").glob("*.py"), ROOT / "conftest.py"]
        if path.name != Path(__file__).name
        for m in _IGNORED.finditer(path.read_text(encoding="utf-8"))
    ]
    # every ignore names a message (a blanket ignore would hide minnet's warnings too), and none matches
    # one of minnet's (pytest matches the message as a regular expression at the start of the warning)
    assert [entry for entry in ignored if not entry[1]] == []
    assert [entry for entry in ignored for text in warnings if re.match(entry[1], text, flags=re.IGNORECASE)] == []
