"""Rewrite the ```text blocks of a docs page with what the ```python block before each prints.

tests/test_docs_site.py checks that every such block shows what its code prints; after a change
that alters a printed table, run this on the page, then read the diff before committing it.

Usage: python scripts/update_doc_outputs.py docs/tutorials/digits.md [more pages]
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def update(page: Path) -> int:
    """Rewrite the page's text blocks; return how many changed."""
    text = page.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    replacements: list[tuple[int, int, str]] = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(fence.group(2), f"{page.name} (python block)", "exec"), namespace)
        after = fences[i + 1] if i + 1 < len(fences) else None
        if after is not None and after.group(1) == "text":
            printed = "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines()) + "\n"
            if printed != after.group(2):
                replacements.append((after.start(2), after.end(2), printed))
    for start, end, printed in reversed(replacements):
        text = text[:start] + printed + text[end:]
    page.write_text(text, encoding="utf-8")
    return len(replacements)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {update(Path(name))} block(s) rewritten")
