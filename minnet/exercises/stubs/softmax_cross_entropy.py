"""Exercise "softmax_cross_entropy": write the fused gradient of softmax followed by cross-entropy.

Check it with ``minnet exercise check softmax_cross_entropy.py`` (or
``minnet.exercises.check("softmax_cross_entropy", CrossEntropyLoss)``): it is graded at hidden logits and labels
against minnet's own CrossEntropyLoss and against finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from minnet import Loss

EXERCISE = "softmax_cross_entropy"


class CrossEntropyLoss(Loss):
    """Cross-entropy of logits z against integer labels y: ``L = −1/N Σ_i log softmax(z_i)[y_i]``.

    ``softmax(z_i)_c = exp(z_ic) / Σ_k exp(z_ik)``, computed with the row maximum subtracted.
    Shapes: logits z ``(N, C)``, labels y ``(N,)`` (integers in ``[0, C)``); L is a float; backward takes no
    argument and returns ∂L/∂z of shape ``(N, C)``: the softmax and the log differentiated together.

    Cached by forward: the probabilities ``p = softmax(z)`` (``self.p``, ``(N, C)``) and the labels
    (``self.labels``).
    """

    reductions = ("mean",)
    target_kind = "labels"

    def __init__(self) -> None:
        super().__init__("mean")
        self.p: NDArray[np.float64]  # cached softmax(z), set by forward
        self.labels: NDArray[np.integer]  # cached labels, set by forward

    def forward(self, pred: NDArray[np.float64], target: NDArray[np.integer]) -> float:
        shifted = pred - pred.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        self.p = e / e.sum(axis=1, keepdims=True)
        self.labels = target
        n = pred.shape[0]
        return float(-np.mean(np.log(self.p[np.arange(n), target])))

    def backward(self, grad_output: Any = None) -> NDArray[np.float64]:
        # TODO: return ∂L/∂z, shape (N, C), from the cached p and labels. Mind the 1/N, and do not change the
        # cached self.p in place (a second backward must give the same gradient).
        raise NotImplementedError("TODO: write CrossEntropyLoss.backward")
