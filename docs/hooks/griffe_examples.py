"""A griffe extension for the API reference: minnet's docstrings title their
doctests ``Example:``; this reads that title as the ``Examples:`` section, so
the doctest renders as highlighted code rather than as Markdown quotes."""

import re
from typing import Any

import griffe

_TITLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _TITLE.sub(r"\1Examples:", obj.docstring.value)
