r"""The two-layer sigmoid network of minnet's founding derivation, built from
layers and written out as closed-form formulas.

The network (3 inputs, 4 hidden units, 1 output, no biases):

1. ``L = 1/(2N) Σ_i (Y_i − ŷ_i)²``        MSELoss()  (reduction "half_batch_mean")
2. ``ŷ = σ(O)``                            Sigmoid()
3. ``O_i = Σ_k Z_ik W2_k1``                Linear(4, 1, bias=False)
4. ``Z_il = σ(H_il)``                      Sigmoid()
5. ``H_il = Σ_k X_ik W1_kl``               Linear(3, 4, bias=False)

The closed forms below follow the chain rule term by term. For W1 the step
5 derivative ∂H_il/∂W1_kl = X_ik is a factor of every term:

    ∂L/∂W1_kl = Σ_i  −1/N (Y_i − ŷ_i) · ŷ_i (1 − ŷ_i) · W2_l1 · Z_il (1 − Z_il) · X_ik

The derivation's own final formula leaves X_ik out (and sums i to 2N, k to 4);
:func:`formula_without_x` computes that version so the demo can show it does
not match backpropagation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ._rng import make_rng
from .inspect import Trace, explain
from .nn import MSELoss, Sequential, Sigmoid
from .nn.linear import Linear
from .optim import SGD

Array = NDArray[np.float64]


def make_data() -> tuple[Array, Array]:
    """The eight corners of the cube {−1, 1}³ and their majority vote (0 or 1).

    Returns ``X`` of shape (8, 3) and ``Y`` of shape (8, 1)."""
    X = np.array([[a, b, c] for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)])
    Y = (X.sum(axis=1, keepdims=True) > 0).astype(np.float64)
    return X, Y


def build_network(rng: int | np.random.Generator | None = 0) -> Sequential:
    """``Sequential(Linear(3, 4, bias=False), Sigmoid(), Linear(4, 1, bias=False), Sigmoid())``."""
    generator = make_rng(rng)  # one stream for both layers
    return Sequential(
        Linear(3, 4, bias=False, rng=generator),  # H = X W1
        Sigmoid(),  # Z = σ(H)
        Linear(4, 1, bias=False, rng=generator),  # O = Z W2
        Sigmoid(),  # ŷ = σ(O)
    )


VALUE_NAMES = ("X", "H", "Z", "O", "ŷ")
"""The derivation's names of the input and of each layer's output, for :func:`minnet.explain`."""

PARAMETER_NAMES = {"0.weight": "W1", "2.weight": "W2"}
"""The derivation's names of the two weight matrices."""


def trace(model: Sequential, loss_fn: MSELoss, X: Array, Y: Array) -> Trace:
    """:func:`minnet.explain` of the network, written with the derivation's
    names: its rows are the derivation's steps 1 (the loss) to 5 (∂H/∂W1)."""
    return explain(model, loss_fn, X, Y, names=VALUE_NAMES, param_names=PARAMETER_NAMES)


def _forward_by_hand(X: Array, W1: Array, W2: Array) -> tuple[Array, Array]:
    Z = 1.0 / (1.0 + np.exp(-(X @ W1)))
    y_hat = 1.0 / (1.0 + np.exp(-(Z @ W2)))
    return Z, y_hat


def closed_form_gradients(X: Array, Y: Array, W1: Array, W2: Array) -> tuple[Array, Array]:
    """∂L/∂W1 and ∂L/∂W2 from the derivation's formulas, one term at a time
    (with the factor X_ik in ∂L/∂W1)."""
    N = X.shape[0]
    Z, y_hat = _forward_by_hand(X, W1, W2)
    dW2 = np.zeros_like(W2)
    for k in range(W2.shape[0]):
        for i in range(N):
            dL_dyhat = -(Y[i, 0] - y_hat[i, 0]) / N  # step 1
            dyhat_dO = y_hat[i, 0] * (1 - y_hat[i, 0])  # step 2
            dO_dW2 = Z[i, k]  # step 3
            dW2[k, 0] += dL_dyhat * dyhat_dO * dO_dW2
    dW1 = np.zeros_like(W1)
    for k in range(W1.shape[0]):
        for l in range(W1.shape[1]):
            for i in range(N):
                dL_dyhat = -(Y[i, 0] - y_hat[i, 0]) / N  # step 1
                dyhat_dO = y_hat[i, 0] * (1 - y_hat[i, 0])  # step 2
                dO_dZ = W2[l, 0]  # step 3
                dZ_dH = Z[i, l] * (1 - Z[i, l])  # step 4
                dH_dW1 = X[i, k]  # step 5
                dW1[k, l] += dL_dyhat * dyhat_dO * dO_dZ * dZ_dH * dH_dW1
    return dW1, dW2


def formula_without_x(X: Array, Y: Array, W1: Array, W2: Array) -> Array:
    """The derivation's final ∂L/∂W1 formula as printed: the step 5 factor X_ik
    left out (its sum over i kept to the N samples). Every row k comes out the
    same, which already shows that the input cannot be playing its part."""
    N = X.shape[0]
    Z, y_hat = _forward_by_hand(X, W1, W2)
    dW1 = np.zeros_like(W1)
    for k in range(W1.shape[0]):
        for l in range(W1.shape[1]):
            for i in range(N):
                dW1[k, l] += (
                    -(Y[i, 0] - y_hat[i, 0]) / N * y_hat[i, 0] * (1 - y_hat[i, 0]) * W2[l, 0] * Z[i, l] * (1 - Z[i, l])
                )
    return dW1


def backprop_gradients(model: Sequential, loss_fn: MSELoss, X: Array, Y: Array) -> tuple[Array, Array]:
    """∂L/∂W1 and ∂L/∂W2 by minnet's modular backpropagation."""
    model.zero_grad()
    loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    return model[0].weight.grad.copy(), model[2].weight.grad.copy()


def train(model: Sequential, loss_fn: MSELoss, X: Array, Y: Array, steps: int, lr: float) -> list[float]:
    """Full-batch gradient descent; returns the loss before each step and after the last."""
    optimizer = SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        losses.append(loss_fn(model(X), Y))
        model.backward(loss_fn.backward())
        optimizer.step()
    losses.append(loss_fn(model(X), Y))
    return losses


def run_demo(steps: int = 500, lr: float = 5.0, seed: int = 0, echo: Callable[[str], None] = print) -> list[float]:
    """Build the derivation's network, compare backprop with the closed forms,
    show that the formula without X_ik fails, then train. Returns the losses."""
    np.set_printoptions(precision=6, suppress=False, linewidth=100)
    X, Y = make_data()
    model, loss_fn = build_network(seed), MSELoss()
    echo("minnet demo: the two-layer sigmoid network of the derivation")
    echo(f"{model}\nloss: {loss_fn}  L = 1/(2N) Σ (Y − ŷ)²,  N = {X.shape[0]}")
    echo(f"loss L = {loss_fn(model(X), Y):.6f}\n")

    W1, W2 = model[0].weight.data, model[2].weight.data
    dW1_backprop, dW2_backprop = backprop_gradients(model, loss_fn, X, Y)
    dW1_formula, dW2_formula = closed_form_gradients(X, Y, W1, W2)
    dW1_without_x = formula_without_x(X, Y, W1, W2)
    echo(f"∂L/∂W2 by backprop:\n{dW2_backprop}\n∂L/∂W2 by the closed form:\n{dW2_formula}")
    echo(f"largest difference: {np.abs(dW2_backprop - dW2_formula).max():.3e}\n")
    echo(f"∂L/∂W1 by backprop:\n{dW1_backprop}\n∂L/∂W1 by the closed form (with X_ik):\n{dW1_formula}")
    echo(f"largest difference: {np.abs(dW1_backprop - dW1_formula).max():.3e}\n")
    echo(
        "∂L/∂W1 by the derivation's final formula as printed (X_ik left out):\n"
        f"{dW1_without_x}\nlargest difference from backprop: {np.abs(dW1_backprop - dW1_without_x).max():.3e}"
        "  <- does not match:\n∂H_il/∂W1_kl = X_ik (step 5) belongs in every term\n"
    )

    echo("the backward pass as it runs, one row per step of the derivation (1: the loss ... 5: ∂H/∂W1):")
    echo(f"{trace(model, loss_fn, X, Y)}\n")

    losses = train(model, loss_fn, X, Y, steps, lr)
    echo(f"training: full-batch SGD, lr={lr}, {steps} steps")
    for step in sorted({0, *range(0, steps + 1, max(1, steps // 5)), steps}):
        echo(f"  step {step:>5}  loss {losses[step]:.6f}")
    echo(f"loss fell from {losses[0]:.6f} to {losses[-1]:.6f} ({100 * (1 - losses[-1] / losses[0]):.1f}% lower)")
    return losses
