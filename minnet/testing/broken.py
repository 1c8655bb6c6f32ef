"""A gallery of wrong layers that people really write, each caught by check_layer.

Every class carries ``bug`` (one line on what is wrong) and ``caught_by`` (the
check of :mod:`minnet.testing.checks` that fails on it). :data:`GALLERY`
lists them with an input shape to check them on. They are here to be studied
and to prove the test kit: never use them in a model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..nn.layer import Layer
from ..nn.linear import Linear
from ..nn.loss import MSELoss
from ..nn.normalization import BatchNorm1d
from ..parameter import Parameter

Array = NDArray[np.floating]


class BiasNotSummedLinear(Linear):
    """Linear whose bias gradient is averaged over the batch instead of summed."""

    bug = "the bias gradient is averaged over the batch, not summed (a batch of one hides it)"
    caught_by = "parameter_gradient"

    def backward(self, grad_output: Array) -> Array:
        self.weight.grad += self.x.T @ grad_output
        if self.bias is not None:
            self.bias.grad += grad_output.mean(axis=0)  # should be .sum(axis=0)
        return grad_output @ self.weight.data.T


class TransposedWeightGradLinear(Linear):
    """Linear whose weight gradient is computed as gᵀx and reshaped to fit."""

    bug = "the weight gradient is gᵀ·x reshaped to W's shape instead of xᵀ·g (square weights hide the shape error)"
    caught_by = "parameter_gradient"

    def backward(self, grad_output: Array) -> Array:
        self.weight.grad += (grad_output.T @ self.x).reshape(self.weight.data.shape)  # should be self.x.T @ g
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class PreactivationSigmoid(Layer):
    """Sigmoid whose derivative is taken of the pre-activation: x(1 − x) instead of y(1 − y)."""

    bug = "the derivative y(1 − y) is evaluated at the input x instead of the output y"
    caught_by = "input_gradient"

    def __init__(self) -> None:
        self.x: Array  # cached input, set by forward

    def forward(self, x: Array) -> Array:
        self.x = x
        return 1.0 / (1.0 + np.exp(-x))

    def backward(self, grad_output: Array) -> Array:
        return grad_output * self.x * (1.0 - self.x)  # should use the output σ(x)


class InPlaceReLU(Layer):
    """ReLU that zeroes the incoming gradient in place and returns it."""

    bug = "backward writes zeros into the grad_output it was given, corrupting the caller's array"
    caught_by = "input_unchanged"

    def __init__(self) -> None:
        self.x: Array  # cached input, set by forward

    def forward(self, x: Array) -> Array:
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, grad_output: Array) -> Array:
        grad_output[self.x <= 0] = 0.0  # should be: return grad_output * (self.x > 0)
        return grad_output


class LossNotDividedByN(MSELoss):
    """The derivation's loss 1/(2N) Σ (Y − ŷ)² whose backward forgets the 1/N."""

    bug = "backward returns ŷ − Y instead of (ŷ − Y)/N (a batch of one hides it)"
    caught_by = "input_gradient"

    def backward(self, grad_output: NDArray[Any] | None = None) -> Array:
        return self.diff  # should be self.diff / N


class UnscaledBackwardDropout(Layer):
    """Inverted dropout that rescales the kept units by 1/(1 − p) in forward but not in backward."""

    bug = "forward multiplies by mask/(1 − p) but backward only by the mask"
    caught_by = "input_gradient"

    def __init__(self, p: float = 0.5, rng: int | None = 0) -> None:
        self.p = p
        self.rng = np.random.default_rng(rng)
        self.mask: Array  # cached mask, set by forward

    def forward(self, x: Array) -> Array:
        if not self.training:
            self.mask = np.ones_like(x)
            return x
        self.mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype)
        return x * self.mask / (1.0 - self.p)

    def backward(self, grad_output: Array) -> Array:
        return grad_output * self.mask  # should be grad_output * self.mask / (1 - p) in training


class ElementwiseSoftmax(Layer):
    """Softmax whose backward treats each output as depending on its own input only."""

    bug = "backward applies y(1 − y) elementwise, dropping the −y_i y_j cross terms of the softmax Jacobian"
    caught_by = "input_gradient"

    def __init__(self) -> None:
        self.y: Array  # cached output, set by forward

    def forward(self, x: Array) -> Array:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, grad_output: Array) -> Array:
        return grad_output * self.y * (1.0 - self.y)  # should be y ⊙ (g − Σ_j g_j y_j)


class OverwritingLinear(Linear):
    """Linear that assigns its parameter gradients instead of adding them."""

    bug = "backward overwrites .grad (=) instead of adding to it (+=), losing gradients accumulated before"
    caught_by = "accumulation"

    def backward(self, grad_output: Array) -> Array:
        self.weight.grad[...] = self.x.T @ grad_output  # should be +=
        if self.bias is not None:
            self.bias.grad[...] = grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class ConstantStatisticsBatchNorm(Layer):
    """Batch normalisation whose backward treats the batch mean and variance as constants."""

    bug = "backward returns γ g / √(σ² + ε), ignoring that the batch mean and variance depend on x (eval mode hides it)"
    caught_by = "input_gradient"
    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        self.eps = eps
        self.weight = Parameter(np.ones(num_features))
        self.bias = Parameter(np.zeros(num_features))
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.x_hat: Array  # cached normalised input and √(σ² + ε), set by forward
        self.std: Array

    def forward(self, x: Array) -> Array:
        mean, var = (x.mean(axis=0), x.var(axis=0)) if self.training else (self.running_mean, self.running_var)
        self.std = np.sqrt(var + self.eps)
        self.x_hat = (x - mean) / self.std
        return self.weight.data * self.x_hat + self.bias.data

    def backward(self, grad_output: Array) -> Array:
        self.weight.grad += (grad_output * self.x_hat).sum(axis=0)
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output * self.weight.data / self.std  # right only when mean and variance are constants


class GainForgottenScale(Layer):
    """A per-feature gain y = x ⊙ s whose input gradient forgets ⊙ s; s starts at ones."""

    bug = "the input gradient is g instead of g ⊙ s (s starts at ones, so only other values show it)"
    caught_by = "input_gradient"

    def __init__(self, features: int) -> None:
        self.scale = Parameter(np.ones(features))
        self.x: Array  # cached input, set by forward

    def forward(self, x: Array) -> Array:
        self.x = x
        return x * self.scale.data

    def backward(self, grad_output: Array) -> Array:
        self.scale.grad += (grad_output * self.x).sum(axis=0)
        return grad_output  # should be grad_output * self.scale.data


class GammaForgottenBatchNorm(BatchNorm1d):
    """BatchNorm1d whose input gradient forgets γ; γ starts at ones."""

    bug = "the input gradient uses g where it should use γ ⊙ g (γ starts at ones, so only other values show it)"
    caught_by = "input_gradient"

    def backward(self, grad_output: Array) -> Array:
        g, x_hat, r = grad_output, self.x_hat, self.r
        if self.weight is not None and self.bias is not None:
            self.weight.grad += (g * x_hat).sum(axis=0)
            self.bias.grad += g.sum(axis=0)  # and then forgets g = g * γ
        if not self.batch_stats:
            return g * r
        return r * (g - g.mean(axis=0, keepdims=True) - x_hat * (g * x_hat).mean(axis=0, keepdims=True))


class ShiftForgottenTanh(Layer):
    """y = tanh(x + b) whose backward takes the derivative at x instead of x + b; b starts at zeros."""

    bug = "backward uses 1 − tanh²(x) instead of 1 − tanh²(x + b) (b starts at zeros, so only other values show it)"
    caught_by = "input_gradient"
    also_caught_by = ("parameter_gradient",)

    def __init__(self, features: int) -> None:
        self.shift = Parameter(np.zeros(features))
        self.x: Array  # cached input, set by forward

    def forward(self, x: Array) -> Array:
        self.x = x
        return np.tanh(x + self.shift.data)

    def backward(self, grad_output: Array) -> Array:
        g = grad_output * (1.0 - np.tanh(self.x) ** 2)  # should be tanh(self.x + self.shift.data)
        self.shift.grad += g.sum(axis=0)
        return g


class SwappedBranchWeights(Layer):
    """y = x A + tanh(x B), two branches whose weights start equal, with A and B swapped in backward."""

    bug = "the input gradient sends each branch's gradient through the other branch's weight (A and B start equal)"
    caught_by = "input_gradient"

    def __init__(self, in_features: int, out_features: int, seed: int = 0) -> None:
        def init() -> Array:
            return np.random.default_rng(seed).standard_normal((in_features, out_features))

        self.left, self.right = Parameter(init()), Parameter(init())  # the same start for both branches
        self.x: Array  # cached input and tanh(x B), set by forward
        self.t: Array

    def forward(self, x: Array) -> Array:
        self.x, self.t = x, np.tanh(x @ self.right.data)
        return x @ self.left.data + self.t

    def backward(self, grad_output: Array) -> Array:
        g_right = grad_output * (1.0 - self.t**2)
        self.left.grad += self.x.T @ grad_output
        self.right.grad += self.x.T @ g_right
        return grad_output @ self.right.data.T + g_right @ self.left.data.T  # A and B swapped


class InPlaceGainBackward(GainForgottenScale):
    """The gain y = x ⊙ s, whose backward multiplies the given gradient in place; s starts at ones."""

    bug = "backward does grad_output *= s, changing the caller's array (s starts at ones, so its values stay the same)"
    caught_by = "input_unchanged"

    def backward(self, grad_output: Array) -> Array:
        self.scale.grad += (grad_output * self.x).sum(axis=0)
        grad_output *= self.scale.data  # should be: return grad_output * self.scale.data
        return grad_output


class PlainArrayWeight(Layer):
    """y = x W with W kept as a plain numpy array instead of a Parameter."""

    bug = "the weight is a plain array, not a Parameter: no optimizer sees it and it never trains"
    caught_by = "parameters_registered"

    def __init__(self, in_features: int, out_features: int, seed: int = 0) -> None:
        self.weight = np.random.default_rng(seed).standard_normal((in_features, out_features))  # not a Parameter
        self.x: Array  # cached input, set by forward

    def forward(self, x: Array) -> Array:
        self.x = x
        return x @ self.weight

    def backward(self, grad_output: Array) -> Array:
        return grad_output @ self.weight.T


class RepeatsLostEmbedding(Layer):
    """An embedding y = W[indices] whose weight gradient loses repeated indices."""

    bug = "the weight gradient W.grad[indices] += g keeps one row of g per repeated index; np.add.at adds them all"
    caught_by = "parameter_gradient"
    input_kind = "integer"

    def __init__(self, num_embeddings: int, embedding_dim: int, seed: int = 0) -> None:
        self.weight = Parameter(np.random.default_rng(seed).standard_normal((num_embeddings, embedding_dim)))
        self.indices: NDArray[np.integer]  # cached indices, set by forward

    def forward(self, indices: NDArray[np.integer]) -> Array:
        self.indices = indices
        return self.weight.data[indices]

    def backward(self, grad_output: Array) -> None:
        self.weight.grad[self.indices] += grad_output  # buffered: a repeated index is added once
        return None


def repeated_indices(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.int64]:
    """Indices into 6 rows, shuffled: about half of them in pairs (0, 0, 1, 1, ...), the rest once each.
    A repeated index is what shows an embedding gradient that loses repeats; the indices used once show
    that the rest of the gradient is right. A shape of up to 8 indices needs at most 6 rows."""
    size = int(np.prod(shape))
    pairs = max(1, size // 4)
    ids = np.concatenate([np.repeat(np.arange(pairs), 2), np.arange(pairs, size - pairs)])[:size]
    return rng.permutation(ids).reshape(shape)


@dataclass(frozen=True)
class Exhibit:
    """One broken layer with the shape to check it on, whether it is a loss, and the kit's options it
    needs (``make_input``: integer indices; ``batch_sizes``: a batch norm trains on two rows or more)."""

    make: Callable[[], Any]
    input_shape: tuple[int, ...]
    is_loss: bool = False
    make_input: Callable[[np.random.Generator, tuple[int, ...]], Any] | None = None
    batch_sizes: tuple[int, ...] | None = None

    @functools.cached_property
    def kind(self) -> type:
        """The broken class (one layer is built to find it)."""
        return type(self.make())

    @property
    def name(self) -> str:
        return self.kind.__name__

    @property
    def bug(self) -> str:
        return str(self.kind.bug)  # type: ignore[attr-defined]  # every exhibit's class sets it

    @property
    def caught_by(self) -> str:
        return str(self.kind.caught_by)  # type: ignore[attr-defined]  # every exhibit's class sets it

    @property
    def also_caught_by(self) -> tuple[str, ...]:
        """Other checks the bug fails as well (besides ``joint_gradient``, which sees every gradient)."""
        return tuple(getattr(self.kind, "also_caught_by", ()))


GALLERY = [
    Exhibit(lambda: BiasNotSummedLinear(3, 5, rng=0), (4, 3)),
    Exhibit(lambda: TransposedWeightGradLinear(3, 5, rng=0), (4, 3)),
    Exhibit(PreactivationSigmoid, (4, 3)),
    Exhibit(InPlaceReLU, (4, 3)),
    Exhibit(LossNotDividedByN, (4, 3), is_loss=True),
    Exhibit(lambda: UnscaledBackwardDropout(0.5, rng=0), (4, 3)),
    Exhibit(ElementwiseSoftmax, (4, 5)),
    Exhibit(lambda: OverwritingLinear(3, 5, rng=0), (4, 3)),
    Exhibit(lambda: ConstantStatisticsBatchNorm(3), (5, 3)),
    Exhibit(lambda: GainForgottenScale(3), (4, 3)),
    Exhibit(lambda: GammaForgottenBatchNorm(3), (5, 3), batch_sizes=(5, 2)),
    Exhibit(lambda: ShiftForgottenTanh(3), (4, 3)),
    Exhibit(lambda: SwappedBranchWeights(3, 5), (4, 3)),
    Exhibit(lambda: InPlaceGainBackward(3), (4, 3)),
    Exhibit(lambda: PlainArrayWeight(3, 5), (4, 3)),
    Exhibit(lambda: RepeatsLostEmbedding(6, 4), (4, 2), make_input=repeated_indices),
]
