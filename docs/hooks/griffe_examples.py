"""A griffe extension for the API reference, so minnet's docstrings render well:

- the doctests are titled ``Example:``; that title is read as the ``Examples:``
  section, so the doctest renders as highlighted code rather than as Markdown quotes;
- Sphinx roles such as ``:class:`~minnet.errors.LoadError``` become inline code
  (``LoadError``), as a reader of the source sees them.
"""

import re
from typing import Any

import griffe

_TITLE = re.compile(r"^(\s*)Example:\s*$", re.M)
_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class ExampleSections(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _TITLE.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role, text)
