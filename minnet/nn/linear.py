"""Linear, the affine map y = x W + b, and Identity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_bool, check_int
from .._inplace import add_product
from .._rng import RngLike, make_rng
from ..parameter import Parameter
from .layer import Layer, float_dtype


class Linear(Layer):
    r"""Affine map ``y = x @ W + b``.

    The weight has shape ``(in_features, out_features)``, so a batch of rows
    ``X`` maps to ``H = X W`` exactly as in the two-layer derivation.

    Local derivatives, with ``g = ∂L/∂y`` of shape ``(N, out_features)`` and the
    cached input ``x``:

    - ``∂L/∂x = g @ W.T``                                  shape ``(N, in_features)``
    - ``∂L/∂W = x.T @ g``, i.e. ∂L/∂W[k, l] = Σ_i x[i, k] g[i, l]   shape ``(in, out)``
    - ``∂L/∂b = Σ_i g[i, :]``  (summed over the batch)     shape ``(out_features,)``

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        bias: if ``False``, no bias is added (the derivation's layers).
        rng: an int seed or a ``numpy.random.Generator`` for the initial
            values (``None``: a fresh unseeded Generator).
        dtype: the parameters' dtype, float64 (default) or float32.

    Shape:
        ``(N, in_features) -> (N, out_features)``; any leading dimensions
        ``(*, in_features) -> (*, out_features)`` work the same way.
        The input's dtype must be the parameters' dtype (integer input is
        converted); a float input of another dtype raises TypeError rather than
        being silently cast.

    Attributes:
        weight: Parameter of shape ``(in_features, out_features)``, drawn from
            U(-1/√in_features, 1/√in_features).
        bias: Parameter of shape ``(out_features,)``, drawn from the same
            distribution, or ``None`` when ``bias=False``.

    Example:
        >>> layer = Linear(3, 4, bias=False, rng=0)
        >>> layer(np.ones((2, 3))).shape
        (2, 4)
        >>> layer
        Linear(in_features=3, out_features=4, bias=False)
    """

    local_derivative = {"∂L/∂x": "g Wᵀ", "∂L/∂W": "xᵀ g", "∂L/∂b": "Σ_i g_i"}
    parameter_symbols = {"W": "weight", "b": "bias"}

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        in_features = check_int("Linear", "in_features", in_features, minimum=1)
        out_features = check_int("Linear", "out_features", out_features, minimum=1)
        bias = check_bool("Linear", "bias", bias)
        dtype = float_dtype(dtype, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        generator = make_rng(rng, "Linear")
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(generator.uniform(-bound, bound, (in_features, out_features)), dtype)
        self.bias = Parameter(generator.uniform(-bound, bound, out_features), dtype) if bias else None
        self.x: NDArray[np.floating]  # cached input, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (N, {self.in_features}), got {x.shape}")
        self.x = x
        y = x @ self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating] | None:
        x = self.x
        # parameter gradients (added): ∂L/∂W = xᵀ g, ∂L/∂b = Σ_i g_i
        x_rows = x.reshape(-1, self.in_features)
        g_rows = grad_output.reshape(-1, self.out_features)
        add_product(self.weight.grad, x_rows.T, g_rows)  # weight.grad += xᵀ g, in blocks of rows
        if self.bias is not None:
            self.bias.grad += g_rows.sum(axis=0)
        # input gradient: ∂L/∂x = g Wᵀ, unless nothing reads it (the first layer, in fit)
        if not self.needs_input_grad:
            return None
        return grad_output @ self.weight.data.T

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Layer):
    r"""The identity ``y = x``: a placeholder where a layer is expected.

    Local derivative ``∂y/∂x = 1``: backward returns ``grad_output`` itself
    (the base class has checked its shape and dtype). It caches nothing.

    Shape:
        any shape ``(*)`` to the same shape; float input is returned as it is.

    Example:
        >>> Identity()(np.array([1.0, -2.0]))
        array([ 1., -2.])
    """

    local_derivative = {"∂L/∂x": "g"}

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        return x

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output
