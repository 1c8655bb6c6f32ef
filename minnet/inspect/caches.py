"""``cache_report`` (``model.cache_report()``): the arrays each layer holds for its backward."""

from __future__ import annotations

from dataclasses import dataclass

from ..nn.layer import Layer
from .common import (
    cached_arrays,
    label,
    named_leaves,
    short_repr,
)
from .tables import _format_bytes, _table


@dataclass
class CacheEntry:
    """One cached array: the layer's path, the attribute, its shape, dtype and bytes."""

    layer_path: str
    layer: str
    attribute: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass
class CacheReport:
    """What :func:`cache_report` found; ``str()`` is a table with the total."""

    entries: list[CacheEntry]
    empty_layers: list[str]

    @property
    def total_bytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    def __str__(self) -> str:
        rows = [
            [e.layer_path, e.layer, e.attribute, str(e.shape), e.dtype, _format_bytes(e.nbytes)] for e in self.entries
        ]
        text = _table(["#", "layer", "cache", "shape", "dtype", "bytes"], rows)
        text += f"\ntotal held for backward: {_format_bytes(self.total_bytes)}"
        if self.empty_layers:
            text += f"\nholding nothing: {', '.join(self.empty_layers)}"
        return text


def cache_report(model: Layer) -> CacheReport:
    """The arrays each layer holds now for its backward: every array attribute
    that is neither a parameter nor a buffer (Linear its input, Sigmoid its
    output, ...), with shape, dtype and bytes. Run a forward pass first; before
    one, the layers hold no caches.

    Example:
        >>> model = Sequential(Linear(3, 4, rng=0), Sigmoid())
        >>> _ = model(np.ones((8, 3)))
        >>> cache_report(model).total_bytes  # x (8, 3) and y (8, 4), float64
        448
    """
    entries, empty = [], []
    for path, layer in named_leaves(model):
        arrays = cached_arrays(layer)
        if not arrays:
            empty.append(label(path, layer))
        for name, a in arrays:
            entries.append(CacheEntry(path or "0", short_repr(layer), name, tuple(a.shape), str(a.dtype), a.nbytes))
    return CacheReport(entries, empty)
