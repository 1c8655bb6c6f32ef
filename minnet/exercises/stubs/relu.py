"""Exercise "relu": write the backward of the rectified linear unit.

Check it with ``minnet exercise check relu.py`` (or ``minnet.exercises.check("relu", ReLU)``): it is graded at
hidden inputs against minnet's own ReLU and against finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer

EXERCISE = "relu"


class ReLU(Layer):
    """Rectified linear unit ``y = max(0, x)``, elementwise.

    Shape: ``(N, D) -> (N, D)``; ``grad_output`` (∂L/∂y) has the output's shape, and backward returns
    ∂L/∂x of the input's shape.

    Cached by forward: the mask ``x > 0`` (booleans of the input's shape).
    """

    def __init__(self) -> None:
        self.mask: NDArray[np.bool_]  # cached x > 0, set by forward

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        self.mask = x > 0
        return np.maximum(x, 0.0)

    def backward(self, grad_output: NDArray[np.float64]) -> NDArray[np.float64]:
        # TODO: return ∂L/∂x from grad_output and the cached mask.
        # Hint: never modify grad_output (no grad_output[...] = 0): build a new array.
        raise NotImplementedError("TODO: write ReLU.backward")
