"""Batching arrays for training: a small DataLoader over (X, Y)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_bool, describe, is_int
from .._rng import RngLike, make_rng

__all__ = ["DataLoader"]


def _as_array(i: int, a: ArrayLike) -> NDArray[Any]:
    try:
        return np.asarray(a)
    except ValueError as error:  # a ragged nested list
        raise ValueError(f"DataLoader: array {i} must be an array of shape (N, ...), got {describe(a)}") from error


class DataLoader:
    """Iterate over arrays in mini-batches, e.g. ``for xb, yb in DataLoader(X, Y, batch_size=32)``.

    All arrays share their first dimension (the samples); each batch is a tuple
    with one slice of each array, rows ``i`` of every array belonging together.
    Without shuffling a batch is a view (a slice, no copy); with shuffling each
    epoch draws one index permutation from ``rng`` and each batch is gathered by
    fancy indexing, so only one batch is copied at a time, never the data set.

    Args:
        *arrays: one or more arrays of the same length, e.g. ``X, Y``.
        batch_size: samples per batch (default 32); the last batch is smaller
            when the length is not a multiple, unless ``drop_last``.
        shuffle: draw a new order each epoch (each ``iter()``) (default False).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        rng: an int seed or ``numpy.random.Generator`` for the shuffling; a
            seed makes the sequence of epochs reproducible.

    Example:
        >>> X, Y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [yb.tolist() for xb, yb in DataLoader(X, Y, batch_size=2)]
        [[0, 1], [2, 3], [4]]
        >>> len(DataLoader(X, Y, batch_size=2, drop_last=True))
        2
        >>> [yb.tolist() for _, yb in DataLoader(X, Y, batch_size=5, shuffle=True, rng=0)]
        [[2, 4, 3, 0, 1]]
    """

    def __init__(
        self,
        *arrays: ArrayLike,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: RngLike = None,
    ) -> None:
        if not arrays:
            raise ValueError("DataLoader: expected at least one array")
        self.arrays = tuple(_as_array(i, a) for i, a in enumerate(arrays))
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"DataLoader: array {i} is a scalar; expected shape (N, ...)")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"DataLoader: the arrays must have the same length (first dimension), got {lengths}")
        if not is_int(batch_size) or batch_size < 1:  # ValueError for a wrong type too, as PyTorch
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.num_samples = lengths[0]
        self.batch_size = int(batch_size)
        self.shuffle = check_bool("DataLoader", "shuffle", shuffle)
        self.drop_last = check_bool("DataLoader", "drop_last", drop_last)
        self.rng = make_rng(rng, "DataLoader")

    def __len__(self) -> int:
        """The number of batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[NDArray[Any], ...]]:
        order = self.rng.permutation(self.num_samples) if self.shuffle else None
        for batch in range(len(self)):
            start = batch * self.batch_size
            stop = min(start + self.batch_size, self.num_samples)
            if order is None:
                yield tuple(a[start:stop] for a in self.arrays)
            else:
                indices = order[start:stop]
                yield tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        return (
            f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
