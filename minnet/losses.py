"""Loss functions: ``loss_fn(pred, target)`` returns a float, ``loss_fn.backward()``
returns ∂L/∂pred and starts the backward chain."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .layer import Layer, as_float_array


class Loss(Layer):
    """Base class of the losses.

    A loss is a layer whose ``forward(pred, target)`` returns a Python float and
    whose ``backward()`` takes no argument: the loss is where the chain starts,
    with ∂L/∂L = 1. Subclasses list their reductions in ``reductions``.
    """

    reductions: tuple[str, ...] = ("mean", "sum")

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self.reductions}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, pred: ArrayLike, target: ArrayLike) -> Any:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self) -> NDArray[np.floating]:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def _same_shape(self, pred: ArrayLike, target: ArrayLike) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        """Both as float arrays of one dtype, or a ValueError naming both shapes."""
        pred = as_float_array(pred, self)
        target = as_float_array(target, self)
        if pred.shape != target.shape:
            raise ValueError(
                f"{type(self).__name__}: target shape {target.shape} does not match prediction shape "
                f"{pred.shape}; reshape one of them (no broadcasting is done)"
            )
        if pred.ndim == 0:
            raise ValueError(f"{type(self).__name__}: expected a batch of shape (N, ...), got a scalar")
        return pred, target.astype(pred.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Loss):
    r"""Squared error between prediction ``ŷ`` and target ``Y`` (same shape, batch first).

    Unreduced: ``ℓ_ij = (Y_ij − ŷ_ij)²``. The reductions, N the batch size:

    - ``"half_batch_mean"`` (default, the derivation's loss):
      ``L = 1/(2N) Σ_i Σ_j (Y_ij − ŷ_ij)²``,  ``∂L/∂ŷ = (ŷ − Y) / N``
    - ``"mean"`` (the mean over all M elements):
      ``L = 1/M Σ (Y − ŷ)²``,  ``∂L/∂ŷ = 2 (ŷ − Y) / M``
    - ``"sum"``: ``L = Σ (Y − ŷ)²``,  ``∂L/∂ŷ = 2 (ŷ − Y)``

    It caches the difference ``ŷ − Y``.

    Args:
        reduction: ``"half_batch_mean"``, ``"mean"`` or ``"sum"``.

    Shape:
        pred and target ``(N, *)``, exactly equal: a target of shape ``(N,)``
        against a prediction ``(N, 1)`` raises ValueError, never broadcasts.

    Example:
        >>> loss_fn = MSELoss()
        >>> loss_fn(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
        2.5
        >>> loss_fn.backward()
        array([[0.5],
               [1.5]])
    """

    reductions = ("half_batch_mean", "mean", "sum")
    local_derivative = "∂L/∂ŷ = (ŷ − Y)/N  (half_batch_mean);  2(ŷ − Y)/M  (mean);  2(ŷ − Y)  (sum)"

    def __init__(self, reduction: str = "half_batch_mean") -> None:
        super().__init__(reduction)
        self.diff: NDArray[np.floating] | None = None  # cached ŷ − Y

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float:  # type: ignore[override]
        pred, target = self._same_shape(pred, target)
        self.diff = pred - target
        squared_sum = float(np.sum(self.diff**2))
        if self.reduction == "half_batch_mean":
            return squared_sum / (2 * pred.shape[0])
        if self.reduction == "mean":
            return squared_sum / pred.size
        return squared_sum

    def backward(self) -> NDArray[np.floating]:  # type: ignore[override]
        diff = self.diff
        if self.reduction == "half_batch_mean":
            return diff / diff.shape[0]
        if self.reduction == "mean":
            return 2.0 * diff / diff.size
        return 2.0 * diff
