"""Exercise "mse_loss": write the backward of the derivation's squared-error loss.

Check it with ``minnet exercise check mse_loss.py`` (or ``minnet.exercises.check("mse_loss", MSELoss)``): it is
graded at hidden predictions and targets against minnet's own MSELoss and against finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from minnet import Loss

EXERCISE = "mse_loss"


class MSELoss(Loss):
    """The derivation's loss ``L = 1/(2N) Σ_i Σ_j (Y_ij − ŷ_ij)²`` (minnet's default reduction).

    N is the batch size (rows), not the number of elements. Shapes: prediction ŷ and target Y ``(N, D)``;
    L is a float; backward takes no argument (∂L/∂L = 1) and returns ∂L/∂ŷ of shape ``(N, D)``.

    Cached by forward: the difference ``ŷ − Y`` (``self.diff``).
    """

    reductions = ("half_batch_mean",)

    def __init__(self) -> None:
        super().__init__("half_batch_mean")
        self.diff: NDArray[np.float64]  # cached ŷ − Y, set by forward

    def forward(self, pred: NDArray[np.float64], target: NDArray[np.float64]) -> float:
        self.diff = pred - target
        return float(np.sum(self.diff**2)) / (2 * pred.shape[0])

    def backward(self, grad_output: Any = None) -> NDArray[np.float64]:
        # TODO: return ∂L/∂ŷ, shape (N, D), from the cached difference. Mind the 1/(2N).
        raise NotImplementedError("TODO: write MSELoss.backward")
