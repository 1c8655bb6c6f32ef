"""The one type that holds a trainable array and the gradient added into it."""

from __future__ import annotations

import itertools
import operator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._checks import float_dtype, real_array

# The version of every layer tree: bumped when a child or a Parameter is set, replaced, deleted or
# appended, or a Parameter's data is replaced by another array (its dtype may change); not by in-place
# updates such as an optimizer's `p.data -= ...`. A layer checks its tree again at its next forward only
# after a change, so in a training loop the check is one comparison per forward. A lost increment between
# threads would only skip a re-check that another change triggers anyway.
_tree_changes = itertools.count(1)
tree_version = [0]


def tree_changed() -> None:
    """Note that some layer tree changed, so each layer checks its tree again at its next forward."""
    tree_version[0] = next(_tree_changes)


class Parameter:
    """A trainable array with the gradient that backward passes add into.

    Args:
        data: the initial values, real numbers; copied into a new float array.
            Complex numbers (whose imaginary part would be lost), strings and
            objects raise TypeError.
        dtype: the array's dtype, a float dtype (default: ``data``'s own float
            dtype, float64 for integer data).

    Attributes:
        data: the values, an ``ndarray``.
        grad: an ``ndarray`` of the same shape and dtype as ``data``, starting
            at zero. Layers add (``+=``) into it in ``backward``; ``zero_grad``
            sets it back to zero.

    Example:
        >>> p = Parameter(np.ones((2, 3)))
        >>> p.grad.shape, float(p.grad.sum())
        ((2, 3), 0.0)
    """

    def __init__(self, data: ArrayLike, dtype: DTypeLike | None = None) -> None:
        array = real_array("Parameter", "data", data, dtype if dtype is None else float_dtype(dtype, "Parameter"))
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        self.data = array
        self.grad: NDArray[np.floating] = np.zeros_like(array)

    def _set_data(self, value: NDArray[np.floating]) -> None:
        replaced = value is not self.__dict__.get("_data")  # `p.data -= ...` sets the same array back
        self.__dict__["_data"] = value
        if replaced:
            tree_changed()

    # ``data``: setting another array bumps the tree version (its dtype may differ). It is read through a C-level
    # getter, and ``grad`` is a plain attribute, so neither `p.data` nor `p.grad += g` costs a Python call.
    if TYPE_CHECKING:  # what the property below is, for the type checker

        @property
        def data(self) -> NDArray[np.floating]: ...

        @data.setter
        def data(self, value: NDArray[np.floating]) -> None: ...

    else:
        data = property(operator.attrgetter("_data"), _set_data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        """Set ``grad`` to zero in place (the array object is kept)."""
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
