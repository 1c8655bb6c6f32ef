"""The same networks written by hand in plain numpy, in two styles.

- :class:`TextbookMLP`: the straightforward version, as a textbook writes it: every product and every
  elementwise expression allocates its result.
- :class:`InPlaceMLP`: the best numpy can do: every buffer allocated once, ``out=`` arguments and in-place
  updates, gradients written (not accumulated) so nothing needs zeroing.

Both compute what minnet computes: the activation's derivative from its cached output, minnet.MSELoss's
1/(2N) Σ (Y − ŷ)² or the mean cross-entropy of softmax(logits), and PyTorch's SGD (momentum) and Adam update
rules. Neither computes ∂L/∂X for the first layer, which no one needs.
"""

from __future__ import annotations

import numpy as np
from workloads import MLP, Weights

BETA1, BETA2, MOMENTUM = 0.9, 0.999, 0.9


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0)


def activation_derivative(name: str, y: np.ndarray) -> np.ndarray:
    """dy/dz from the output y."""
    if name == "sigmoid":
        return y * (1 - y)
    if name == "tanh":
        return 1 - y * y
    return (y > 0).astype(y.dtype)


class TextbookMLP:
    """Forward, loss, backward and update, allocating freely."""

    name = "numpy"

    def __init__(self, net: MLP, weights: Weights, X: np.ndarray, Y: np.ndarray) -> None:
        self.net, self.X, self.Y = net, X.copy(), Y.copy()
        self.params = [p.copy() for W, b in weights for p in (W, b)]  # W0, b0, W1, b1, ...
        arrays = {"sgd": 0, "momentum": 1, "adam": 2}[net.optimizer]  # a momentum buffer, or Adam's m and v
        self.state = [[np.zeros_like(p) for _ in range(arrays)] for p in self.params]
        self.t = 0

    def forward(self, X: np.ndarray) -> list[np.ndarray]:
        outputs = [X]
        for i in range(len(self.net.layers)):
            z = outputs[-1] @ self.params[2 * i] + self.params[2 * i + 1]
            outputs.append(activate(self.net.activation, z) if self.net.activated(i) else z)
        return outputs

    def loss_and_gradient(self, out: np.ndarray) -> tuple[float, np.ndarray]:
        n = len(out)
        if self.net.loss == "mse":
            diff = out - self.Y
            return float((diff**2).sum() / (2 * n)), diff / n
        shifted = out - out.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(n)
        p = np.exp(log_p)
        p[rows, self.Y] -= 1
        return float(-log_p[rows, self.Y].mean()), p / n

    def step(self) -> float:
        net = self.net
        outputs = self.forward(self.X)
        loss, g = self.loss_and_gradient(outputs[-1])
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        for i in reversed(range(len(net.layers))):
            if net.activated(i):
                g = g * activation_derivative(net.activation, outputs[i + 1])
            grads[2 * i] = outputs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ self.params[2 * i].T
        self.update(grads)
        return loss

    def update(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        lr = self.net.lr
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            if self.net.optimizer == "sgd":
                p -= lr * g
            elif self.net.optimizer == "momentum":
                state[0] = MOMENTUM * state[0] + g  # PyTorch's rule: the first step's buffer is g
                p -= lr * state[0]
            else:
                state[0] = BETA1 * state[0] + (1 - BETA1) * g
                state[1] = BETA2 * state[1] + (1 - BETA2) * g * g
                step_size = lr / (1 - BETA1**self.t)
                p -= step_size * state[0] / (np.sqrt(state[1]) / np.sqrt(1 - BETA2**self.t) + self.net.adam_eps)

    def first_weight(self) -> np.ndarray:
        return self.params[0].copy()


class InPlaceMLP:
    """The same step with every array preallocated: ``out=`` everywhere, nothing allocated per step but
    a few scalars."""

    name = "numpy in-place"

    def __init__(self, net: MLP, weights: Weights, X: np.ndarray, Y: np.ndarray) -> None:
        self.net, self.X, self.Y = net, X.copy(), Y.copy()
        n, dtype = len(X), X.dtype
        self.params = [p.copy() for W, b in weights for p in (W, b)]
        self.grads = [np.empty_like(p) for p in self.params]
        arrays = {"sgd": 0, "momentum": 1, "adam": 2}[net.optimizer]  # a momentum buffer, or Adam's m and v
        self.state = [[np.zeros_like(p) for _ in range(arrays)] for p in self.params]
        self.outputs = [self.X] + [np.empty((n, b), dtype) for _, b in net.layers]  # each layer's output
        self.grad_outputs = [np.empty((n, a), dtype) for a, _ in net.layers]  # ∂L/∂(input of layer i)
        self.derivative = [np.empty((n, b), dtype) for _, b in net.layers]  # the activation's dy/dz
        self.grad_loss = np.empty((n, net.sizes[-1]), dtype)  # ∂L/∂ŷ
        self.row_max = np.empty((n, 1), dtype)
        self.rows = np.arange(n)
        self.t = 0

    def activate(self, z: np.ndarray) -> None:
        if self.net.activation == "sigmoid":  # 1 / (1 + e^(−z))
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)
        elif self.net.activation == "tanh":
            np.tanh(z, out=z)
        else:
            np.maximum(z, 0, out=z)

    def multiply_by_derivative(self, g: np.ndarray, y: np.ndarray, d: np.ndarray) -> None:
        """g ← g ⊙ dy/dz, with dy/dz from the output y, written into d first."""
        if self.net.activation == "sigmoid":  # y (1 − y)
            np.subtract(1, y, out=d)
            d *= y
        elif self.net.activation == "tanh":  # 1 − y²
            np.multiply(y, y, out=d)
            np.subtract(1, d, out=d)
        else:  # 1 where y > 0
            np.greater(y, 0, out=d)
        g *= d

    def step(self) -> float:
        net, out = self.net, self.outputs
        last = len(net.layers) - 1
        for i in range(last + 1):
            np.matmul(out[i], self.params[2 * i], out=out[i + 1])
            out[i + 1] += self.params[2 * i + 1]
            if net.activated(i):
                self.activate(out[i + 1])
        # the loss and its gradient ∂L/∂ŷ
        n, y, g = len(self.X), out[last + 1], self.grad_loss
        if net.loss == "mse":
            np.subtract(y, self.Y, out=g)
            loss = float(np.vdot(g, g)) / (2 * n)
        else:  # softmax, then p − onehot
            np.max(y, axis=1, keepdims=True, out=self.row_max)
            np.subtract(y, self.row_max, out=g)
            np.exp(g, out=g)
            np.sum(g, axis=1, keepdims=True, out=self.row_max)
            g /= self.row_max
            loss = -float(np.log(g[self.rows, self.Y]).mean())
            g[self.rows, self.Y] -= 1
        g /= n
        for i in reversed(range(last + 1)):
            if net.activated(i):
                self.multiply_by_derivative(g, out[i + 1], self.derivative[i])
            np.matmul(out[i].T, g, out=self.grads[2 * i])
            np.sum(g, axis=0, out=self.grads[2 * i + 1])
            if i > 0:
                np.matmul(g, self.params[2 * i].T, out=self.grad_outputs[i])
                g = self.grad_outputs[i]
        self.update()
        return loss

    def update(self) -> None:
        """The update, with the gradient's buffer as the only scratch space (it is rewritten next step)."""
        self.t += 1
        lr = self.net.lr
        for p, g, state in zip(self.params, self.grads, self.state, strict=True):
            if self.net.optimizer == "sgd":
                g *= lr
            elif self.net.optimizer == "momentum":  # b ← μ b + g, then the step lr·b
                (b,) = state
                b *= MOMENTUM
                b += g
                np.multiply(b, lr, out=g)
            else:  # Adam
                m, v = state
                m -= g  # m ← β₁ m + (1 − β₁) g, as β₁ (m − g) + g
                m *= BETA1
                m += g
                g *= g  # v ← β₂ v + (1 − β₂) g², likewise
                v -= g
                v *= BETA2
                v += g
                np.sqrt(v, out=g)  # the step lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
                g /= np.sqrt(1 - BETA2**self.t)
                g += self.net.adam_eps
                np.divide(m, g, out=g)
                g *= lr / (1 - BETA1**self.t)
            p -= g

    def first_weight(self) -> np.ndarray:
        return self.params[0].copy()
