"""The benchmark's workloads: the networks, their data and initial weights, their FLOP counts, and minnet's
implementation of each.

Every implementation of a workload (minnet, hand-written numpy, PyTorch, scikit-learn) starts from the
weights :meth:`MLP.initial_weights` draws, in minnet's layout: ``W`` of shape ``(in, out)``, ``b`` of shape
``(out,)``. The convolutional networks (:class:`conv_nets.CNN`) are written in conv_nets.py, the recurrent ones
(:class:`recurrent_nets.RecurrentNet`) in recurrent_nets.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from conv_nets import CNN, cnn28, digits_cnn, minnet_cnn
from recurrent_nets import RecurrentNet

import minnet

Weights = list[tuple[np.ndarray, np.ndarray]]

ACTIVATIONS = {"sigmoid": minnet.Sigmoid, "relu": minnet.ReLU, "tanh": minnet.Tanh}
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD momentum 0.9", "adam": "Adam"}
LOSS_NAMES = {"mse": "MSE 1/(2N)Σ(Y−ŷ)²", "cross_entropy": "cross-entropy"}


@dataclass(frozen=True)
class MLP:
    """A multi-layer perceptron, its loss, optimizer, batch size and dtype."""

    sizes: tuple[int, ...]  # layer widths, the input first
    activation: str  # "sigmoid", "relu" or "tanh", after every hidden layer
    loss: str  # "mse" (minnet.MSELoss's default, 1/(2N) Σ (Y − ŷ)²) or "cross_entropy" (integer labels)
    optimizer: str  # "sgd", "momentum" (SGD with momentum 0.9) or "adam"
    batch: int
    dtype: str  # "float32" or "float64"
    lr: float = 0.01
    output_activation: bool = False  # the activation after the last layer too (the seed network's sigmoid)
    adam_eps: float = 1e-8  # Adam's ε (PyTorch's, minnet's and scikit-learn's default)

    @property
    def layers(self) -> list[tuple[int, int]]:
        return list(itertools.pairwise(self.sizes))

    def activated(self, layer: int) -> bool:
        """Whether layer ``layer`` (0-based) is followed by the activation."""
        return layer < len(self.sizes) - 2 or self.output_activation

    def shape_text(self) -> str:
        """``784-256-256-10``, or ``32-32×20-1`` for a deep stack of equal widths."""
        hidden = self.sizes[1:-1]
        if len(hidden) > 4 and len(set(hidden)) == 1:
            return f"{self.sizes[0]}-{hidden[0]}×{len(hidden)}-{self.sizes[-1]}"
        return "-".join(map(str, self.sizes))

    def describe(self) -> str:
        return (
            f"{self.shape_text()} {self.activation}, {LOSS_NAMES[self.loss]}, batch {self.batch}, "
            f"{self.dtype}, {OPTIMIZER_NAMES[self.optimizer]}"
        )

    def forward_flops(self, samples: int | None = None) -> int:
        """2·N·in·out per layer: the matrix products of the forward pass."""
        n = self.batch if samples is None else samples
        return sum(2 * n * a * b for a, b in self.layers)

    def train_flops(self, samples: int | None = None) -> int:
        """The matrix products of one training step, 2·m·n·k each: the forward product, the weight gradient
        xᵀg and the input gradient g Wᵀ of every layer but the first (no one needs ∂L/∂X). Elementwise work
        (bias, activation, loss, update) is not counted."""
        n = self.batch if samples is None else samples
        first_in, first_out = self.layers[0]
        return 3 * self.forward_flops(n) - 2 * n * first_in * first_out

    def initial_weights(self, seed: int = 0) -> Weights:
        """U(−1/√in, 1/√in) for W and b, as minnet.Linear draws them."""
        rng = np.random.default_rng(seed)
        weights = []
        for a, b in self.layers:
            bound = 1 / np.sqrt(a)
            W = rng.uniform(-bound, bound, (a, b)).astype(self.dtype)
            weights.append((W, rng.uniform(-bound, bound, b).astype(self.dtype)))
        return weights

    def make_batch(self, seed: int = 1, samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Standard-normal inputs; integer labels for cross-entropy, targets in (0, 1) for MSE."""
        n = self.batch if samples is None else samples
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, self.sizes[0])).astype(self.dtype)
        if self.loss == "cross_entropy":
            return X, rng.integers(0, self.sizes[-1], n)
        return X, rng.uniform(0.05, 0.95, (n, self.sizes[-1])).astype(self.dtype)

    def state_bytes(self) -> dict[str, int]:
        """What a training step must hold at least: parameters, their gradients, the optimizer's state,
        the batch, and one N×width array per layer output (each hidden activation, which backward needs
        both as the next layer's input and for the activation's derivative, and the output)."""
        itemsize = np.dtype(self.dtype).itemsize
        parameters = sum(a * b + b for a, b in self.layers) * itemsize
        X, Y = self.make_batch()
        state_per_parameter = {"sgd": 0, "momentum": 1, "adam": 2}[self.optimizer]
        return {
            "parameters": parameters,
            "gradients": parameters,
            "optimizer_state": state_per_parameter * parameters,
            "batch": X.nbytes + Y.nbytes,
            "activations": sum(self.batch * b for _, b in self.layers) * itemsize,
        }


@dataclass(frozen=True)
class Workload:
    """One row group of the report: what is measured, on which network."""

    name: str  # the id --only matches
    title: str
    kind: str  # "step", "conv step" (a CNN's), "recurrent step", "epoch", "predict" or "memory"
    net: MLP | CNN | RecurrentNet
    extra: dict[str, Any] = field(default_factory=dict)  # epoch: samples; predict: batches


def all_workloads(smoke: bool = False, quick: bool = False) -> list[Workload]:
    """The workloads in report order; ``smoke`` shrinks every network to a few units (for the tests), ``quick``
    the epoch to 256 samples and the recurrent networks' sequences to 8 steps."""
    seed = MLP((3, 4, 1), "sigmoid", "mse", "sgd", 8, "float64", lr=0.5, output_activation=True)
    digits = MLP((64, 128, 10), "relu", "cross_entropy", "adam", 32, "float32", lr=1e-3)
    mnist = MLP((784, 256, 256, 10), "relu", "cross_entropy", "momentum", 128, "float32", lr=0.01)
    wide = MLP((1024, 2048, 2048, 10), "relu", "cross_entropy", "sgd", 256, "float32", lr=0.01)
    deep = MLP((32, *[32] * 20, 1), "tanh", "mse", "sgd", 16, "float64", lr=0.01)
    epoch = MLP((64, 64, 10), "relu", "cross_entropy", "adam", 32, "float32", lr=1e-3)
    predict_batches = (1, 1024)
    epoch_samples = 256 if quick else None  # None: all 1,797 digits
    conv_digits, conv28 = digits_cnn(), cnn28()
    lstm = RecurrentNet("lstm", input_size=64, hidden=256, num_layers=1, seq_len=32, batch=32)
    gru2 = replace(lstm, cell="gru", num_layers=2)
    if quick:  # 8 time steps, not 32: the same products at each step, a quarter of them
        lstm, gru2 = replace(lstm, seq_len=8), replace(gru2, seq_len=8)
    if smoke:
        digits = replace(digits, sizes=(64, 16, 10), batch=8)
        mnist = replace(mnist, sizes=(32, 16, 16, 10), batch=8)
        wide = replace(wide, sizes=(64, 32, 32, 10), batch=16)
        deep = replace(deep, sizes=(8, *[8] * 5, 1), batch=4)
        epoch = replace(epoch, sizes=(64, 8, 10))
        predict_batches, epoch_samples = (1, 64), 96
        conv_digits, conv28 = digits_cnn(batch=4, channels=(2, 4)), cnn28(batch=4, channels=(2, 4), side=12)
        lstm = replace(lstm, input_size=8, hidden=8, seq_len=4, batch=4)
        gru2 = replace(gru2, input_size=8, hidden=8, seq_len=4, batch=4)
    return [
        Workload("seed", "seed", "step", seed),
        Workload("digits", "digits", "step", digits),
        Workload("mnist32", "mnist-like float32", "step", mnist),
        Workload("mnist64", "mnist-like float64", "step", replace(mnist, dtype="float64")),
        Workload("wide", "wide", "step", wide),
        Workload("deep", "deep", "step", deep),
        Workload("digits-epoch", "digits epoch", "epoch", epoch, {"samples": epoch_samples}),
        Workload("predict", "predict", "predict", digits, {"batches": predict_batches}),
        Workload("memory", "memory (wide step)", "memory", wide),
        Workload("cnn-digits", "digits CNN", "conv step", conv_digits),
        Workload("cnn-28", "28×28 CNN", "conv step", conv28),
        Workload("cnn-memory", "memory (28×28 CNN step)", "memory", conv28),
        Workload("lstm", "LSTM", "recurrent step", lstm),
        Workload("gru2", "2-layer GRU", "recurrent step", gru2),
    ]


# -- minnet's implementations --------------------------------------------------------------------------


def minnet_model(net: MLP | CNN, weights: Weights) -> minnet.Sequential:
    if isinstance(net, CNN):
        return minnet_cnn(net, weights)
    layers: list[minnet.Layer] = []
    for i, (W, b) in enumerate(weights):
        linear = minnet.Linear(*W.shape, rng=i, dtype=net.dtype)
        linear.weight.data[...] = W
        assert linear.bias is not None
        linear.bias.data[...] = b
        layers.append(linear)
        if net.activated(i):
            layers.append(ACTIVATIONS[net.activation]())
    return minnet.Sequential(*layers)


def minnet_loss(net: MLP | CNN) -> minnet.Loss:
    return minnet.MSELoss() if net.loss == "mse" else minnet.CrossEntropyLoss()


def minnet_optimizer(net: MLP | CNN, model: minnet.Sequential) -> minnet.Optimizer:
    if net.optimizer == "adam":
        return minnet.Adam(model.parameters(), lr=net.lr, eps=net.adam_eps)
    return minnet.SGD(model.parameters(), lr=net.lr, momentum=0.9 if net.optimizer == "momentum" else 0.0)


class MinnetStep:
    """One training step as minnet's README writes it: zero_grad, forward, loss, backward, step.

    As in ``minnet.fit``, the first layer is told that nothing reads the gradient of the model's input
    (``needs_input_grad = False``), which the hand-written networks do not compute either."""

    name = "minnet"

    def __init__(self, net: MLP | CNN, weights: Weights, X: np.ndarray, Y: np.ndarray) -> None:
        self.model = minnet_model(net, weights)
        self.model[0].needs_input_grad = False
        self.loss_fn = minnet_loss(net)
        self.optimizer = minnet_optimizer(net, self.model)
        self.X, self.Y = X, Y

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.X), self.Y)
        self.model.backward(self.loss_fn.backward())
        self.optimizer.step()
        return loss

    def first_weight(self) -> np.ndarray:
        return np.array(self.model[0].weight.data)


def minnet_predict_call(model: minnet.Sequential) -> tuple[str, Callable[[np.ndarray], Any]]:
    """``model.predict(x)`` where the model has one, else ``minnet.predict(model, x)`` (its defaults)."""
    method = getattr(model, "predict", None)
    if callable(method):
        return "model.predict(x)", method
    return "minnet.predict(model, x)", lambda x: minnet.predict(model, x)


class MinnetEpoch:
    """One epoch of ``minnet.fit`` (``epochs=1``, no progress bar), the optimizer kept across calls."""

    name = "minnet"

    def __init__(self, net: MLP, weights: Weights, X: np.ndarray, y: np.ndarray, shuffle: bool) -> None:
        self.net, self.X, self.y, self.shuffle = net, X.copy(), y.copy(), shuffle
        self.model = minnet_model(net, weights)
        self.loss_fn = minnet_loss(net)
        self.optimizer = minnet_optimizer(net, self.model)
        self.rng = np.random.default_rng(0)

    def epoch(self) -> float:
        history = minnet.fit(
            self.model,
            self.loss_fn,
            self.optimizer,
            self.X,
            self.y,
            epochs=1,
            batch_size=self.net.batch,
            shuffle=self.shuffle,
            rng=self.rng,
            progress=False,
        )
        return history.history["loss"][0]

    def first_weight(self) -> np.ndarray:
        return np.array(self.model[0].weight.data)
