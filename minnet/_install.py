"""How to install one of minnet's extras, said right for where this minnet came from.

minnet's import name is ``minnet``, but its distribution (the name ``pip`` installs) is
``minnet-nn``: the name ``minnet`` on the public package index belongs to an unrelated
project, which pip would install under that name instead. Every install hint
minnet prints comes from :func:`install_hint`:

- run from a checkout of the repository (an editable install, or the package imported
  from the checkout), the hint installs the extra from that checkout:
  ``pip install -e "/path/to/checkout[plot]"``;
- otherwise it names the distribution: ``pip install "minnet-nn[plot]"``.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["DISTRIBUTION", "checkout_root", "install_hint"]

#: The name to give pip; ``import minnet`` stays the import name.
DISTRIBUTION = "minnet-nn"

_NAME_LINE = re.compile(r'^name\s*=\s*"([^"]+)"', re.MULTILINE)


def checkout_root() -> Path | None:
    """The repository that this ``minnet`` package is imported from, or None when it was installed
    from a built distribution (a wheel in site-packages has no ``pyproject.toml`` beside it)."""
    root = Path(__file__).resolve().parent.parent
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    match = _NAME_LINE.search(text)
    return root if match is not None and match.group(1) == DISTRIBUTION else None


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` for this minnet, e.g. ``pip install "minnet-nn[plot]"``."""
    root = checkout_root()
    if root is None:
        return f'pip install "{DISTRIBUTION}[{extra}]"'
    return f'pip install -e "{root}[{extra}]"'
