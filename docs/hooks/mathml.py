"""Typeset math for the site, converted to MathML when the site is built.

``$...$`` in running text and ``$$...$$`` on lines of their own are LaTeX; each
becomes a ``<math>`` element (``display="block"`` for ``$$``), which browsers
render natively, so the site needs no script, no font download and no network.
The conversion is latex2mathml's (pure Python, in the ``docs`` extra).

Code is left alone: fenced blocks are set aside before display math is looked
for, and inline code before inline math. ``\\$`` writes a dollar sign. A ``$``
followed by a space, or a closing ``$`` followed by a digit, is not math
(``$5 and $6`` stays text).

mkdocs loads this file through ``hooks:`` in mkdocs.yml; :func:`on_config` adds
the Markdown extension to every page's converter.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from latex2mathml.converter import convert
from markdown import Extension, Markdown
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

INLINE = r"(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?!\d)"
DISPLAY = re.compile(r"^[ \t]*\$\$(.+?)\$\$[ \t]*$", re.S | re.M)


def mathml(latex: str, display: bool) -> str:
    """``latex`` as a ``<math>`` element; a formula latex2mathml cannot read fails the build, naming it."""
    try:
        text = convert(latex.strip(), display="block" if display else "inline")
        element = ET.fromstring(text)  # well-formed, or the build stops here rather than a browser showing garbage
        unknown = [t for t in element.itertext() if re.match(r"\\[A-Za-z]", t)]
        if unknown:  # latex2mathml prints a command it does not know as text
            raise ValueError(f"unknown command {unknown[0]}")
    except Exception as error:
        raise ValueError(f"math: cannot convert {latex!r} to MathML: {error}") from error
    return text


class InlineMath(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:  # type: ignore[override]
        return self.md.htmlStash.store(mathml(m.group(1), display=False)), m.start(0), m.end(0)


class DisplayMath(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        def block(m: re.Match[str]) -> str:
            html = f'<div class="math-display">{mathml(m.group(1), display=True)}</div>'
            return f"\n\n{self.md.htmlStash.store(html)}\n\n"

        return DISPLAY.sub(block, "\n".join(lines)).split("\n")


class MathExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.ESCAPED_CHARS.append("$")
        # after the fenced code blocks (priority 25 and up) have been stashed
        md.preprocessors.register(DisplayMath(md), "display_math", 15)
        # after inline code (190), before the escapes (180)
        md.inlinePatterns.register(InlineMath(INLINE, md), "inline_math", 185)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(MathExtension())
    return config
