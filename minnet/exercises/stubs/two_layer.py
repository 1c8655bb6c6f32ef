"""Exercise "two_layer": the derivation's two-layer network by hand.

Write ∂L/∂W1 and ∂L/∂W2 of the founding derivation's network with numpy alone (no minnet layers). Check it with
``minnet exercise check two_layer.py`` (or ``minnet.exercises.check("two_layer", gradients)``): it is graded at
hidden X, Y, W1 and W2 against minnet's backpropagation and against finite differences of L.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EXERCISE = "two_layer"

Array = NDArray[np.float64]


def sigmoid(a: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-a))
    return out


def gradients(X: Array, Y: Array, W1: Array, W2: Array) -> tuple[Array, Array]:
    """∂L/∂W1 and ∂L/∂W2 of the network (3 inputs, 4 hidden units, 1 output, no biases):

    1. ``L = 1/(2N) Σ_i (Y_i − ŷ_i)²``
    2. ``ŷ = σ(O)``
    3. ``O = Z W2``
    4. ``Z = σ(H)``
    5. ``H = X W1``

    Shapes: X ``(N, 3)``, Y ``(N, 1)``, W1 ``(3, 4)``, W2 ``(4, 1)``, H and Z ``(N, 4)``, O and ŷ ``(N, 1)``.
    Return ``(dW1, dW2)`` of the shapes of W1 and W2. Leave the arrays you are given unchanged.
    """
    H = X @ W1
    Z = sigmoid(H)
    O = Z @ W2
    y_hat = sigmoid(O)
    # TODO: from L back to W2, then on to W1, one step of the chain rule at a time:
    # ∂L/∂ŷ, ∂L/∂O, ∂L/∂W2, ∂L/∂Z, ∂L/∂H, ∂L/∂W1. Compare each with minnet.exercises.cmp as you go.
    raise NotImplementedError(f"TODO: write gradients (ŷ, of shape {y_hat.shape}, is computed)")
