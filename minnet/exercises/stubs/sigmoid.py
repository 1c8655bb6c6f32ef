"""Exercise "sigmoid": write the backward of the logistic sigmoid.

Check it with ``minnet exercise check sigmoid.py`` (or ``minnet.exercises.check("sigmoid", Sigmoid)``): it is
graded at hidden inputs against minnet's own Sigmoid and against finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer

EXERCISE = "sigmoid"


class Sigmoid(Layer):
    """Logistic sigmoid ``y = σ(x) = 1 / (1 + exp(−x))``, elementwise.

    Shape: ``(N, D) -> (N, D)``; ``grad_output`` (∂L/∂y) has the output's shape, and backward returns
    ∂L/∂x of the input's shape.

    Cached by forward: the output ``y`` (not the input).
    """

    def __init__(self) -> None:
        self.y: NDArray[np.float64]  # cached output, set by forward

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        self.y = 1.0 / (1.0 + np.exp(-x))
        return self.y

    def backward(self, grad_output: NDArray[np.float64]) -> NDArray[np.float64]:
        # TODO: return ∂L/∂x = grad_output ⊙ ∂y/∂x, with ∂y/∂x written from the cached output self.y.
        # Hints: the output is already σ(x); never modify grad_output (build a new array).
        raise NotImplementedError("TODO: write Sigmoid.backward")
