"""The recurrent networks of the benchmark: an LSTM or GRU over a sequence, a linear head on the last time
step's output, cross-entropy on random labels; their data, initial weights and FLOP counts, and minnet's step.

Every implementation starts from the weights :meth:`RecurrentNet.initial_weights` draws, in minnet's layout:
per layer ``(weight_ih, weight_hh, bias_ih, bias_hh)`` with ``weight_ih`` of shape ``(in, G·hidden)`` and
``weight_hh`` ``(hidden, G·hidden)`` (the transpose of PyTorch's; the biases are the same), then the head's
``(W, b)``, ``W`` of shape ``(hidden, classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import minnet

CELLS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3)}  # the layer's name and its number of gates G


@dataclass(frozen=True)
class RecurrentNet:
    """``LSTM``/``GRU(input_size, hidden, num_layers)`` over ``(L, N, input_size)``, then
    ``Linear(hidden, classes)`` on the output at the last step, cross-entropy on integer labels, plain SGD."""

    cell: str  # "lstm" or "gru"
    input_size: int
    hidden: int
    num_layers: int
    seq_len: int
    batch: int
    classes: int = 10
    dtype: str = "float32"
    lr: float = 0.01
    optimizer: str = "sgd"  # the only one
    loss: str = "cross_entropy"  # the only one

    @property
    def gates(self) -> int:
        return CELLS[self.cell][1]

    def layer_inputs(self) -> list[int]:
        """The input size of each layer: the data's for the first, the hidden size after."""
        return [self.input_size] + [self.hidden] * (self.num_layers - 1)

    def describe(self) -> str:
        layers = f", {self.num_layers} layers" if self.num_layers > 1 else ""
        return (
            f"{CELLS[self.cell][0]}({self.input_size}, {self.hidden}{layers}) → output[-1] → "
            f"Linear({self.hidden}, {self.classes}), cross-entropy, sequence {self.seq_len}, batch {self.batch}, "
            f"{self.dtype}, SGD lr {self.lr:g}"
        )

    def products(self) -> list[tuple[int, int, int]]:
        """Each forward product as ``(m, n, k)``, summed over the steps: per layer ``x_t W_ih`` and
        ``h_{t−1} W_hh``, ``(N, in)·(in, G·H)`` and ``(N, H)·(H, G·H)`` at each of the L steps (m = L·N), then
        the head's ``(N, H)·(H, classes)``."""
        gh, rows = self.gates * self.hidden, self.seq_len * self.batch
        out = []
        for size in self.layer_inputs():
            out += [(rows, gh, size), (rows, gh, self.hidden)]
        return [*out, (self.batch, self.classes, self.hidden)]

    def forward_flops(self) -> int:
        return sum(2 * m * n * k for m, n, k in self.products())

    def train_flops(self) -> int:
        """Three products per forward product (the forward, the weight gradient xᵀg or hᵀg, the input
        gradient g W_ihᵀ or g W_hhᵀ), but for the first layer's ``g W_ihᵀ``, ∂L/∂x of the data, which nothing
        needs (the minnet step sets ``needs_input_grad = False``, as ``fit`` does, and PyTorch's data needs no
        gradient).
        The gates, the loss and the update are not counted."""
        m, n, k = self.products()[0]
        return 3 * self.forward_flops() - 2 * m * n * k

    def initial_weights(self, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
        """U(−1/√hidden, 1/√hidden) for every parameter of the recurrent layers, as minnet's LSTM and GRU draw
        them, and U(−1/√hidden, 1/√hidden) for the head's, as minnet.Linear draws them (its fan-in is hidden)."""
        rng = np.random.default_rng(seed)
        bound, gh = 1 / np.sqrt(self.hidden), self.gates * self.hidden
        weights = []
        for size in self.layer_inputs():
            shapes = [(size, gh), (self.hidden, gh), (gh,), (gh,)]
            weights.append(tuple(rng.uniform(-bound, bound, s).astype(self.dtype) for s in shapes))
        head = [(self.hidden, self.classes), (self.classes,)]
        weights.append(tuple(rng.uniform(-bound, bound, s).astype(self.dtype) for s in head))
        return weights

    def make_batch(self, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """A standard-normal sequence ``(L, N, input_size)`` and integer labels."""
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((self.seq_len, self.batch, self.input_size)).astype(self.dtype)
        return X, rng.integers(0, self.classes, self.batch)


def minnet_recurrent(net: RecurrentNet, weights: list[tuple[np.ndarray, ...]]) -> tuple[Any, minnet.Linear]:
    """minnet's recurrent layer and head, their parameters set to ``weights``."""
    layer_class = minnet.LSTM if net.cell == "lstm" else minnet.GRU
    rnn = layer_class(net.input_size, net.hidden, net.num_layers, rng=0, dtype=net.dtype)
    for k, params in enumerate(weights[:-1]):
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), params, strict=True):
            getattr(rnn, f"{name}_l{k}").data[...] = value
    head = minnet.Linear(net.hidden, net.classes, rng=0, dtype=net.dtype)
    W, b = weights[-1]
    head.weight.data[...] = W
    assert head.bias is not None
    head.bias.data[...] = b
    return rnn, head


class MinnetRecurrentStep:
    """One training step, written out: a recurrent layer returns ``(output, h_n)`` and its backward takes the
    output's gradient alone, so the head's input gradient is put at the last step of a zero gradient for the
    whole output sequence.

    Nothing reads ∂L/∂x of the data, so the step sets ``needs_input_grad = False`` on the recurrent layer, as
    ``fit`` does on a model's first layer: its backward then skips that product."""

    name = "minnet"

    def __init__(self, net: RecurrentNet, weights: list[tuple[np.ndarray, ...]], X: np.ndarray, Y: np.ndarray) -> None:
        self.rnn, self.head = minnet_recurrent(net, weights)
        self.rnn.needs_input_grad = False
        self.loss_fn = minnet.CrossEntropyLoss()
        self.optimizer = minnet.SGD([*self.rnn.parameters(), *self.head.parameters()], lr=net.lr)
        self.X, self.Y = X, Y

    def step(self) -> float:
        self.optimizer.zero_grad()
        output, _ = self.rnn(self.X)
        loss = self.loss_fn(self.head(output[-1]), self.Y)
        grad_output = np.zeros_like(output)
        grad_output[-1] = self.head.backward(self.loss_fn.backward())
        self.rnn.backward(grad_output)
        self.optimizer.step()
        return loss

    def first_weight(self) -> np.ndarray:
        return np.array(self.rnn.weight_ih_l0.data)
