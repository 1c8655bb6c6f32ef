"""The convolutional networks of the benchmark: their layers, data and initial weights, their FLOP counts and
the memory a training step must hold, and minnet's model of each.

A network is a :class:`CNN`: the shape of one image, then its layers, written with PyTorch's arguments
(:class:`Conv`, :class:`Norm`, ``RELU``, :class:`Pool`, ``FLATTEN``, :class:`Dense`). Every implementation starts
from the weights :meth:`CNN.initial_weights` draws, one ``(W, b)`` per layer with parameters: a convolution's ``W``
in PyTorch's layout ``(out_channels, in_channels, k, k)``, which minnet's Conv2d shares, a linear layer's in
minnet's ``(in, out)``, the transpose of PyTorch's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import minnet

Weights = list[tuple[np.ndarray, np.ndarray]]
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD momentum 0.9", "adam": "Adam"}


@dataclass(frozen=True)
class Conv:
    """``Conv2d(in_channels, out_channels, kernel, padding=padding)``: square kernel, stride 1, with a bias."""

    in_channels: int
    out_channels: int
    kernel: int
    padding: int = 0

    def text(self) -> str:
        padding = f", padding={self.padding}" if self.padding else ""
        return f"Conv2d({self.in_channels}, {self.out_channels}, {self.kernel}{padding})"


@dataclass(frozen=True)
class Norm:
    """``BatchNorm2d(channels)``: γ = 1 and β = 0 at the start in every implementation (not in the weights)."""

    channels: int

    def text(self) -> str:
        return f"BatchNorm2d({self.channels})"


@dataclass(frozen=True)
class Pool:
    """``MaxPool2d(kernel)``: stride ``kernel``, no padding."""

    kernel: int

    def text(self) -> str:
        return f"MaxPool2d({self.kernel})"


@dataclass(frozen=True)
class Dense:
    """``Linear(in_features, out_features)``, with a bias."""

    in_features: int
    out_features: int

    def text(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


RELU, FLATTEN = "ReLU", "Flatten"
LayerSpec = Conv | Norm | Pool | Dense | str


@dataclass(frozen=True)
class CNN:
    """A convolutional classifier, cross-entropy on integer labels, its optimizer, batch size and dtype."""

    image: tuple[int, int, int]  # (C, H, W) of one input
    layers: tuple[LayerSpec, ...]
    optimizer: str  # "sgd", "momentum" (SGD with momentum 0.9) or "adam"
    batch: int
    dtype: str  # "float32" or "float64"
    lr: float
    loss: str = "cross_entropy"  # the only one; the name minnet's and PyTorch's builders read
    adam_eps: float = 1e-8

    def __post_init__(self) -> None:
        self.shapes()  # a ValueError where a layer's input does not fit the previous one's output

    def shapes(self) -> list[tuple[int, ...]]:
        """The output shape of each layer for one sample: ``(C, H, W)``, or ``(features,)`` once flat."""
        shape: tuple[int, ...] = self.image
        out = []
        for layer in self.layers:
            if isinstance(layer, Conv):
                c, h, w = shape
                if c != layer.in_channels:
                    raise ValueError(f"{layer.text()} after an output of shape {shape}")
                side = 2 * layer.padding - layer.kernel + 1
                shape = (layer.out_channels, h + side, w + side)
            elif isinstance(layer, Norm):
                if shape[0] != layer.channels:
                    raise ValueError(f"{layer.text()} after an output of shape {shape}")
            elif isinstance(layer, Pool):
                c, h, w = shape
                shape = (c, h // layer.kernel, w // layer.kernel)
            elif isinstance(layer, Dense):
                if shape != (layer.in_features,):
                    raise ValueError(f"{layer.text()} after an output of shape {shape}")
                shape = (layer.out_features,)
            elif layer == FLATTEN:
                shape = (math.prod(shape),)
            elif layer != RELU:
                raise ValueError(f"unknown layer {layer!r}")
            out.append(shape)
        return out

    @property
    def classes(self) -> int:
        return self.shapes()[-1][0]

    def weighted(self) -> list[Conv | Dense]:
        """The layers with parameters, in order."""
        return [layer for layer in self.layers if isinstance(layer, (Conv, Dense))]

    def text(self) -> str:
        return " → ".join(layer if isinstance(layer, str) else layer.text() for layer in self.layers)

    def describe(self) -> str:
        c, h, w = self.image
        return (
            f"{self.text()}, cross-entropy, batch {self.batch} of {c}×{h}×{w}, {self.dtype}, "
            f"{OPTIMIZER_NAMES[self.optimizer]}"
        )

    def products(self) -> list[tuple[int, int, int]]:
        """Each layer's forward product as ``(m, n, k)``: a convolution's is im2col's, its weight as an
        ``(out_channels, in_channels·k·k)`` matrix times the ``(in_channels·k·k, N·H_out·W_out)`` columns; a
        linear layer's ``(N, in)`` times ``(in, out)``."""
        products = []
        for layer, shape in zip(self.layers, self.shapes(), strict=True):
            if isinstance(layer, Conv):
                _, h, w = shape
                products.append((layer.out_channels, self.batch * h * w, layer.in_channels * layer.kernel**2))
            elif isinstance(layer, Dense):
                products.append((self.batch, layer.out_features, layer.in_features))
        return products  # one per layer of weighted()

    def forward_flops(self) -> int:
        """2·m·n·k per convolution and linear layer: the forward pass's products."""
        return sum(2 * m * n * k for m, n, k in self.products())

    def train_flops(self) -> int:
        """The products of one training step, each as many FLOPs as the forward's: per layer the forward, the
        weight gradient (g colsᵀ, xᵀg) and the input gradient (Wᵀg, g Wᵀ), the latter for every layer but the
        first (no one needs ∂L/∂X). Pooling, ReLU, im2col and col2im, the loss and the update are not counted."""
        m, n, k = self.products()[0]
        return 3 * self.forward_flops() - 2 * m * n * k

    def initial_weights(self, seed: int = 0) -> Weights:
        """U(−1/√fan_in, 1/√fan_in) for W and b, as minnet's Conv2d (fan_in = in_channels·k·k) and Linear
        (fan_in = in) draw them."""
        rng = np.random.default_rng(seed)
        weights = []
        for layer in self.weighted():
            if isinstance(layer, Conv):
                shape: tuple[int, ...] = (layer.out_channels, layer.in_channels, layer.kernel, layer.kernel)
                fan_in, out = layer.in_channels * layer.kernel**2, layer.out_channels
            else:
                shape, fan_in, out = (layer.in_features, layer.out_features), layer.in_features, layer.out_features
            bound = 1 / np.sqrt(fan_in)
            W = rng.uniform(-bound, bound, shape).astype(self.dtype)
            weights.append((W, rng.uniform(-bound, bound, out).astype(self.dtype)))
        return weights

    def make_batch(self, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Standard-normal images ``(N, C, H, W)`` and integer labels."""
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((self.batch, *self.image)).astype(self.dtype)
        return X, rng.integers(0, self.classes, self.batch)

    def state_bytes(self) -> dict[str, int]:
        """What a training step must hold at least: the parameters, their gradients, the optimizer's state,
        the batch, every layer's output (Flatten's excepted: a view of its input's memory) and each
        convolution's im2col buffer, ``in_channels·k·k × N·H_out·W_out`` elements."""
        itemsize = np.dtype(self.dtype).itemsize
        norms = sum(2 * layer.channels for layer in self.layers if isinstance(layer, Norm))  # γ and β
        parameters = sum(W.nbytes + b.nbytes for W, b in self.initial_weights()) + norms * itemsize
        X, y = self.make_batch()
        outputs = columns = 0  # elements
        for layer, (channels, *sides) in zip(self.layers, self.shapes(), strict=True):
            if layer != FLATTEN:
                outputs += self.batch * channels * math.prod(sides)
            if isinstance(layer, Conv):  # its columns: in_channels·k·k rows, one per sample and output position
                columns += layer.in_channels * layer.kernel**2 * self.batch * math.prod(sides)
        return {
            "parameters": parameters,
            "gradients": parameters,
            "optimizer_state": {"sgd": 0, "momentum": 1, "adam": 2}[self.optimizer] * parameters,
            "batch": X.nbytes + y.nbytes,
            "activations": outputs * itemsize,
            "im2col": columns * itemsize,
        }


def digits_cnn(batch: int = 64, channels: tuple[int, int] = (16, 32)) -> CNN:
    """The digits CNN of examples/digits_cnn.py: 8×8 single-channel images, two 3×3 convolutions padded to keep
    the size, each followed by BatchNorm2d and ReLU, Adam 5e-3."""
    c1, c2 = channels
    layers = (
        *(Conv(1, c1, 3, padding=1), Norm(c1), RELU, Pool(2)),
        *(Conv(c1, c2, 3, padding=1), Norm(c2), RELU, FLATTEN, Dense(c2 * 16, 10)),
    )
    return CNN((1, 8, 8), layers, "adam", batch, "float32", lr=5e-3)


def cnn28(batch: int = 64, channels: tuple[int, int] = (32, 64), side: int = 28) -> CNN:
    """The 28×28 CNN: two unpadded 3×3 convolutions each followed by 2×2 max pooling, SGD 0.01, momentum 0.9."""
    c1, c2 = channels
    flat = ((side - 2) // 2 - 2) // 2  # 28 → 26 → 13 → 11 → 5
    layers = (Conv(1, c1, 3), RELU, Pool(2), Conv(c1, c2, 3), RELU, Pool(2), FLATTEN, Dense(c2 * flat * flat, 10))
    return CNN((1, side, side), layers, "momentum", batch, "float32", lr=0.01)


def minnet_cnn(net: CNN, weights: Weights) -> minnet.Sequential:
    """minnet's model of ``net``, its parameters set to ``weights``."""
    params = iter(weights)
    layers: list[minnet.Layer] = []
    for spec in net.layers:
        layer: minnet.Layer
        if isinstance(spec, Conv):
            channels, kernel, padding = (spec.in_channels, spec.out_channels), spec.kernel, spec.padding
            layer = minnet.Conv2d(*channels, kernel, padding=padding, rng=0, dtype=net.dtype)
        elif isinstance(spec, Dense):
            layer = minnet.Linear(spec.in_features, spec.out_features, rng=0, dtype=net.dtype)
        elif isinstance(spec, Norm):
            layer = minnet.BatchNorm2d(spec.channels, dtype=net.dtype)
        elif isinstance(spec, Pool):
            layer = minnet.MaxPool2d(spec.kernel)
        else:
            layer = minnet.ReLU() if spec == RELU else minnet.Flatten()
        if isinstance(spec, (Conv, Dense)):
            W, b = next(params)
            layer.weight.data[...] = W
            layer.bias.data[...] = b
        layers.append(layer)
    return minnet.Sequential(*layers)
