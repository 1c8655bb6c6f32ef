"""Several inputs and outputs, as the checks see them: nested tuples of arrays, such as an LSTM's
``(x, (h_0, c_0))`` in and ``(output, (h_n, c_n))`` out, taken apart into their arrays and put back together.

The rule is the one of docs/custom-layer.md: a tuple whose items are arrays (or tuples of arrays, or ``None``)
is several values, one per item; anything else (an array, a list of numbers) is one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def is_nested(value: Any) -> bool:
    """Whether ``value`` is a tuple of arrays, ``None`` and such tuples, at least one array among them."""

    def arrays_or_none(item: Any) -> bool:
        if isinstance(item, tuple):
            return all(arrays_or_none(part) for part in item)
        return item is None or isinstance(item, np.ndarray)

    return (
        isinstance(value, tuple)
        and bool(value)
        and arrays_or_none(value)
        and any(isinstance(leaf, np.ndarray) for leaf in leaves(value))
    )


def leaves(value: Any) -> list[Any]:
    """The items of a nested tuple that are not tuples, in order: ``(x, (h, c))`` → ``[x, h, c]``; ``[value]``
    for anything that is not a tuple."""
    return [leaf for item in value for leaf in leaves(item)] if isinstance(value, tuple) else [value]


def leaf_names(value: Any, name: str) -> list[str]:
    """Names for :func:`leaves`: ``name`` for one value, else ``name[0]``, ``name[1][0]``, ``name[1][1]``..."""
    if not isinstance(value, tuple):
        return [name]
    return [leaf for i, item in enumerate(value) for leaf in leaf_names(item, f"{name}[{i}]")]


def rebuild(template: Any, items: Iterator[Any]) -> Any:
    """The next items of ``items`` put in the nesting of ``template`` (the inverse of :func:`leaves`)."""
    if isinstance(template, tuple):
        return tuple(rebuild(part, items) for part in template)
    return next(items)


def map_leaves(function: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with ``function`` applied to each of its leaves, the nesting kept."""
    return rebuild(value, iter([function(leaf) for leaf in leaves(value)]))


def aligned(template: Any, returned: Any) -> list[Any]:
    """The gradient ``returned`` for each leaf of ``template`` (the inputs), by position: ``None`` where nothing
    came for a leaf (``None`` for a whole tuple, or one array for several inputs: the first input's gradient,
    by the contract of docs/custom-layer.md); a :class:`Misfit` where the nesting differs."""
    if not isinstance(template, tuple):
        return [returned]
    size = len(leaves(template))
    if returned is None:
        return [None] * size
    if not isinstance(returned, tuple):
        first = aligned(template[0], returned)
        return first + [None] * (size - len(first))
    if len(returned) != len(template):
        return [Misfit(f"a tuple of {len(returned)} gradients for {len(template)} values")] * size
    return [leaf for part, got in zip(template, returned, strict=True) for leaf in aligned(part, got)]


class Misfit:
    """What :func:`aligned` gives where the returned gradients do not nest as the inputs do."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
