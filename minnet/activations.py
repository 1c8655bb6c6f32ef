"""Elementwise and normalising activations."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .layer import Layer, as_float_array


def _check_grad_shape(layer: Layer, grad_output: NDArray[np.floating], expected: tuple[int, ...]) -> None:
    if grad_output.shape != expected:
        raise ValueError(f"{type(layer).__name__}: expected grad_output of shape {expected}, got {grad_output.shape}")


class Sigmoid(Layer):
    r"""Logistic sigmoid ``y = σ(x) = 1 / (1 + exp(-x))``, elementwise.

    Computed from ``e = exp(−|x|)`` as ``1/(1 + e)`` for x ≥ 0 and ``e/(1 + e)``
    for x < 0, so ``exp`` never overflows: no warning for any float input
    (±1000, ±1e308, ±inf); NaN in gives NaN out.

    Local derivative, from the cached output ``y``:
    ``∂y/∂x = y ⊙ (1 − y)``, so ``∂L/∂x = grad_output ⊙ y ⊙ (1 − y)``.

    Shape:
        any shape ``(*)`` to the same shape; float dtypes are kept, integer
        input becomes float64.

    Example:
        >>> Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

    local_derivative = "∂y/∂x = y ⊙ (1 − y)"

    def __init__(self) -> None:
        self.y: NDArray[np.floating] | None = None  # cached output

    def forward(self, x: ArrayLike) -> NDArray[np.floating]:
        x = as_float_array(x, self)
        e = np.exp(-np.abs(x))  # in [0, 1]: exp never overflows
        self.y = np.where(x >= 0, 1.0, e) / (1.0 + e)  # 1/(1+e^-x) for x ≥ 0, e^x/(1+e^x) for x < 0
        return self.y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        y = self.y
        _check_grad_shape(self, grad_output, y.shape)
        return grad_output * y * (1.0 - y)
