"""The one type that holds a trainable array and the gradient added into it."""

from __future__ import annotations

import itertools
import operator
import secrets
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


# The count of writes to any Parameter's data: every write made through minnet (setting ``p.data``, ``p.data -=
# ...``, an optimizer's step, an initialiser, a load, ``mark_changed()``) takes the next number, and the Parameter
# keeps it as ``_changed_at``. A layer notes the count at forward; its backward looks at its own Parameters only
# when the count moved since, so in a training loop the stale-weight check is one comparison per backward.
_data_changes = itertools.count(1)
data_version = [0]
#: This process's mark on a pickled Parameter: its ``_changed_at`` is a number of the count of the process that
#: pickled it, and means nothing in another (whose count starts again at 1). A forked child keeps the count and
#: the mark.
_PROCESS = secrets.token_hex(8)


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
        version: how many times ``data`` was changed since the Parameter was
            made (read-only). Setting ``data`` (``p.data = ...``, ``p.data -=
            ...``), every optimizer's ``step``, the ``minnet.init`` functions
            and loading weights count; code that writes ``data`` in place
            otherwise (``p.data[...] = v``, ``np.copyto(p.data, v)``, an
            ``out=`` argument) calls :meth:`mark_changed`. A layer's backward
            refuses to run on a Parameter changed after its forward
            (:class:`~minnet.errors.StaleWeightsError`).
        grad: an ``ndarray`` of the same shape and dtype as ``data``, starting
            at zero. Layers add (``+=``) into it in ``backward``; ``zero_grad``
            sets it back to zero.

    Example:
        >>> p = Parameter(np.ones((2, 3)))
        >>> p.grad.shape, float(p.grad.sum())
        ((2, 3), 0.0)
    """

    #: what ``version`` reads, and the number of the last write in the count of all Parameters' writes
    _version = 0
    _changed_at = 0

    def __init__(self, data: ArrayLike, dtype: DTypeLike | None = None) -> None:
        array = real_array("Parameter", "data", data, dtype if dtype is None else float_dtype(dtype, "Parameter"))
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        self.data = array
        self.grad: NDArray[np.floating] = np.zeros_like(array)

    def _set_data(self, value: NDArray[np.floating]) -> None:
        first = "_data" not in self.__dict__  # set by __init__: version 0
        replaced = value is not self.__dict__.get("_data")  # `p.data -= ...` sets the same array back
        self.__dict__["_data"] = value
        if replaced:
            tree_changed()
        if not first:  # replaced, or written in place and set back (`p.data -= ...`)
            self.mark_changed()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_process": _PROCESS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled in another process, the Parameter counts as not written there yet (``version`` is kept):
        the number of its last write, from the other process's count, could stand above every write here and
        make each layer holding it refuse its backward."""
        state = dict(state)
        if state.pop("_process", None) != _PROCESS:
            state.pop("_changed_at", None)
        self.__dict__.update(state)

    def mark_changed(self) -> None:
        """Note that ``data`` was written in place by code minnet cannot see
        (``p.data[...] = v``, ``np.copyto(p.data, v)``): ``version`` goes up by
        one, so a layer whose forward ran before the write refuses its backward,
        whose gradient would mix the old values (in its caches) and the new.

        Example:
            >>> p = Parameter(np.zeros(3))
            >>> p.data[0] = 1.0; p.mark_changed(); p.version
            1
        """
        self._version += 1
        self._changed_at = data_version[0] = next(_data_changes)

    @property
    def version(self) -> int:
        return self._version

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
