"""Exercise "layernorm": write the backward of layer normalisation.

Check it with ``minnet exercise check layernorm.py`` (or ``minnet.exercises.check("layernorm", LayerNorm)``): it
is graded at hidden inputs and drawn γ and β against minnet's own LayerNorm and against finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer, Parameter

EXERCISE = "layernorm"


class LayerNorm(Layer):
    """Layer normalisation ``y = γ ⊙ x̂ + β`` with ``x̂ = (x − μ) / √(σ² + ε)``, per sample.

    μ and σ² are the mean and the biased variance of each sample (each row) over its D features (axis 1):
    they depend on every feature of that row. γ and β act elementwise on the features.

    Shapes: x, y and grad_output ``(N, D)``; γ (``weight``) and β (``bias``) ``(D,)``.

    Cached by forward: ``x̂`` (``self.x_hat``, ``(N, D)``) and ``r = 1/√(σ² + ε)`` (``self.r``, ``(N, 1)``).
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5) -> None:
        self.eps = eps
        self.weight = Parameter(np.ones(normalized_shape))  # γ
        self.bias = Parameter(np.zeros(normalized_shape))  # β
        self.x_hat: NDArray[np.float64]  # cached normalised input, set by forward
        self.r: NDArray[np.float64]  # cached 1/√(σ² + ε), one per row, set by forward

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        self.r = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.r
        return self.weight.data * self.x_hat + self.bias.data

    def backward(self, grad_output: NDArray[np.float64]) -> NDArray[np.float64]:
        # TODO, three gradients, each of the shape of what it differentiates:
        # - add (+=) ∂L/∂γ and ∂L/∂β, shape (D,), into self.weight.grad and self.bias.grad
        # - return ∂L/∂x, shape (N, D): μ and σ² of a row depend on every feature of that row.
        # Never modify grad_output.
        raise NotImplementedError("TODO: write LayerNorm.backward")
