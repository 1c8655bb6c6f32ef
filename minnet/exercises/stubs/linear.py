"""Exercise "linear": write the backward of the affine map, with its weight and bias gradients.

Check it with ``minnet exercise check linear.py`` (or ``minnet.exercises.check("linear", Linear)``): it is
graded at hidden inputs and drawn parameter values against minnet's own Linear and against finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer, Parameter

EXERCISE = "linear"


class Linear(Layer):
    """Affine map ``y = x @ W + b``.

    Shapes: x ``(N, in_features)``, W ``(in_features, out_features)``, b ``(out_features,)``,
    y and grad_output ``(N, out_features)``.

    Cached by forward: the input ``x``.
    """

    def __init__(self, in_features: int, out_features: int, *, rng: int | None = None) -> None:
        generator = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(generator.uniform(-bound, bound, (in_features, out_features)))
        self.bias = Parameter(generator.uniform(-bound, bound, out_features))
        self.x: NDArray[np.float64]  # cached input, set by forward

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        self.x = x
        return x @ self.weight.data + self.bias.data

    def backward(self, grad_output: NDArray[np.float64]) -> NDArray[np.float64]:
        # TODO, three gradients, each of the shape of what it differentiates:
        # - add (+=) ∂L/∂W, shape (in_features, out_features), into self.weight.grad
        # - add (+=) ∂L/∂b, shape (out_features,), into self.bias.grad (every row of the batch contributes)
        # - return ∂L/∂x, shape (N, in_features)
        # Never modify grad_output.
        raise NotImplementedError("TODO: write Linear.backward")
