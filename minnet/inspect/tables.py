"""Plain-text and Markdown tables, byte counts and norms, for the diagnostics' reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _format_bytes(n: int) -> str:
    size: float = n  # an int until divided, so bytes print without a decimal point
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str | list[str]]]) -> str:
    """A plain-text table; a cell given as a list of strings spans several lines."""
    cells = [[c if isinstance(c, list) else [c] for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max([widths[i], *(len(line) for line in cell)])
    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), rule]
    for row in cells:
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join(parts).rstrip())
    lines.append(rule)
    return "\n".join(lines)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str | list[str]]]) -> str:
    def cell(c: str | list[str]) -> str:
        text = "<br>".join(c) if isinstance(c, list) else c
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _norm(array: Any) -> float:
    return float(np.linalg.norm(np.ravel(np.asarray(array, dtype=np.float64))))
