"""Flatten: dimensions joined into one, and back in backward."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .._checks import check_int
from .layer import Layer


class Flatten(Layer):
    r"""Flatten dimensions ``start_dim`` to ``end_dim`` into one: ``(N, d1, …, dk) -> (N, d1·…·dk)`` by default.

    A reshape, so its local derivative is the reverse reshape:
    ``∂L/∂x = grad_output.reshape(x.shape)``, from the cached input shape.

    Args:
        start_dim: the first dimension to flatten (default 1, keeping the batch).
        end_dim: the last dimension to flatten (default -1).

    Shape:
        ``(N, *) -> (N, prod(*))`` with the defaults; the dtype is kept.

    Example:
        >>> Flatten()(np.zeros((2, 3, 4))).shape
        (2, 12)
    """

    local_derivative = {"∂L/∂x": "reshape(g, x.shape)"}

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = (
            check_int("Flatten", "start_dim", start_dim),
            check_int("Flatten", "end_dim", end_dim),
        )
        self.shape: tuple[int, ...]  # cached input shape, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        in_range = all(-x.ndim <= d < x.ndim for d in (self.start_dim, self.end_dim))
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if not in_range or start > end:
            raise ValueError(
                f"Flatten: cannot flatten dimensions {self.start_dim}..{self.end_dim} of an input of shape {x.shape}"
            )
        self.shape = x.shape
        return x.reshape((*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :]))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output.reshape(self.shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
