"""Exercise "batchnorm1d": write the backward of batch normalisation in training mode.

Check it with ``minnet exercise check batchnorm1d.py`` (or ``minnet.exercises.check("batchnorm1d",
BatchNorm1d)``): it is graded in training mode at hidden inputs and drawn γ and β against minnet's own
BatchNorm1d and against finite differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from minnet import Layer, Parameter

EXERCISE = "batchnorm1d"


class BatchNorm1d(Layer):
    """Batch normalisation ``y = γ ⊙ x̂ + β`` with ``x̂ = (x − μ) / √(σ² + ε)``, per feature.

    In training, μ and σ² are the mean and the biased variance of each feature over the batch (axis 0):
    they depend on every row of x. In eval, the running statistics are used instead.

    Shapes: x, y and grad_output ``(N, C)``; γ (``weight``), β (``bias``), μ and σ² ``(C,)``.

    Cached by forward: ``x̂`` (``self.x_hat``, ``(N, C)``) and ``r = 1/√(σ² + ε)`` (``self.r``, ``(C,)``).
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features))  # γ
        self.bias = Parameter(np.zeros(num_features))  # β
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.x_hat: NDArray[np.float64]  # cached normalised input, set by forward
        self.r: NDArray[np.float64]  # cached 1/√(σ² + ε), set by forward

    def forward(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            n, m = x.shape[0], self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        self.r = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.r
        return self.weight.data * self.x_hat + self.bias.data

    def backward(self, grad_output: NDArray[np.float64]) -> NDArray[np.float64]:
        # TODO, three gradients, each of the shape of what it differentiates:
        # - add (+=) ∂L/∂γ and ∂L/∂β, shape (C,), into self.weight.grad and self.bias.grad
        # - return ∂L/∂x, shape (N, C). In training μ and σ² depend on x: the gradient flows through them too.
        # Never modify grad_output.
        raise NotImplementedError("TODO: write BatchNorm1d.backward")
