"""Normalisation layers: BatchNorm1d and BatchNorm2d, which share their math in _BatchNorm, and LayerNorm."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_bool, check_int, check_real, describe, is_int
from ..parameter import Parameter
from .layer import Layer, float_dtype


class _BatchNorm(Layer):
    """The math of every batch normalisation: statistics per channel (axis 1) over every other axis.

    BatchNorm1d and BatchNorm2d differ only in the input shapes they accept (``_check_shape``); their
    docstrings state the formulas.
    """

    local_derivative = {
        "∂L/∂x": {"training": "r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), ĝ = γ g", "eval": "r ⊙ γ g"},
        "∂L/∂γ": "Σ g ⊙ x̂",
        "∂L/∂β": "Σ g",
    }
    parameter_symbols = {"γ": "weight", "β": "bias"}
    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        *,
        dtype: Any = np.float64,
    ) -> None:
        name = type(self).__name__
        num_features = check_int(name, "num_features", num_features, minimum=1)
        eps = check_real(name, "eps", eps, 0.0)
        if momentum is not None:  # None: a cumulative average, as PyTorch
            momentum = check_real(name, "momentum", momentum, 0.0, 1.0)
        affine = check_bool(name, "affine", affine)
        dtype = float_dtype(dtype, name)
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        self.weight = Parameter(np.ones(num_features), dtype) if affine else None
        self.bias = Parameter(np.zeros(num_features), dtype) if affine else None
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.num_batches_tracked = np.array(0, dtype=np.int64)
        self.x_hat: NDArray[np.floating]  # cached normalised input, set by forward
        self.r: NDArray[np.floating]  # cached 1/√(σ² + ε), shaped to broadcast, set by forward
        self.batch_stats: bool = False  # whether the cached forward used batch statistics

    def _check_shape(self, x: NDArray[np.floating]) -> None:
        """A ValueError naming the layer unless ``x`` has a shape the layer takes."""
        raise NotImplementedError

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self._check_shape(x)
        axes = (0, *range(2, x.ndim))  # every axis but the channel axis 1
        view = (1, -1) + (1,) * (x.ndim - 2)  # a (C,) vector shaped to broadcast against x
        n = x.size // self.num_features
        self.batch_stats = self.training
        if self.training:
            if n < 2:
                name = type(self).__name__
                raise ValueError(f"{name}: training needs more than 1 value per feature (channel), got input {x.shape}")
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(view)
            var = np.mean(centered * centered, axis=axes)  # the biased variance, from x − μ taken once
            self.num_batches_tracked += 1
            m = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
            centered = x - mean.reshape(view)
        self.r = (1.0 / np.sqrt(var + self.eps)).reshape(view)
        centered *= self.r  # x̂ = (x − μ) r, in the array just made
        self.x_hat = centered
        if self.weight is None or self.bias is None:  # not affine
            return self.x_hat
        return self.x_hat * self.weight.data.reshape(view) + self.bias.data.reshape(view)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x_hat, r = self.x_hat, self.r
        g = grad_output
        axes = (0, *range(2, g.ndim))
        sum_g, sum_g_x_hat = g.sum(axis=axes), (g * x_hat).sum(axis=axes)  # Σ g, Σ g ⊙ x̂ per channel
        scale = r  # ∂x̂/∂x's r, times γ when affine (ĝ = γ g)
        # parameter gradients (added): ∂L/∂γ = Σ g ⊙ x̂, ∂L/∂β = Σ g
        if self.weight is not None and self.bias is not None:  # affine
            self.weight.grad += sum_g_x_hat
            self.bias.grad += sum_g
            scale = r * self.weight.data.reshape(r.shape)
        # input gradient
        if not self.batch_stats:
            return g * scale
        # r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)) with ĝ = γ g: γ is one number per channel, so the means are
        # γ Σ g / n and γ Σ g ⊙ x̂ / n, the sums above, and the whole is r γ ⊙ (g − Σ g / n − x̂ ⊙ Σ g ⊙ x̂ / n)
        n = g.size // self.num_features
        grad = x_hat * (sum_g_x_hat / n).reshape(r.shape)
        grad += (sum_g / n).reshape(r.shape)
        np.subtract(g, grad, out=grad)
        grad *= scale
        return grad

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation ``y = γ ⊙ (x − μ) / √(σ² + ε) + β``, per feature (channel).

    In training, ``μ`` and ``σ²`` are the batch mean and biased variance over
    the batch (and length) axes, and the running statistics are updated as
    ``running_mean ← (1 − momentum) running_mean + momentum μ`` and
    ``running_var ← (1 − momentum) running_var + momentum σ² n/(n − 1)``
    (the unbiased variance, n values per feature). In eval, ``μ`` and ``σ²`` are
    ``running_mean`` and ``running_var``.

    Local derivatives, with ``g = ∂L/∂y``, the cached ``x̂ = (x − μ)/√(σ² + ε)``
    and ``r = 1/√(σ² + ε)``, sums and means over the n values of a feature:

    - ``∂L/∂γ = Σ g ⊙ x̂``,  ``∂L/∂β = Σ g``
    - training: ``∂L/∂x = r ⊙ (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))`` with ``ĝ = γ ⊙ g``
      (μ and σ² depend on x); eval: ``∂L/∂x = r ⊙ γ ⊙ g``.

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance (default 1e-5).
        momentum: the running statistics' update factor (default 0.1);
            ``None`` gives the cumulative average over all batches seen.
        affine: if ``False``, no γ and β (``y = x̂``).
        dtype: the parameters' and statistics' dtype, float64 (default) or
            float32; the input must have it (integer input is converted).

    Shape:
        ``(N, C)`` or ``(N, C, L)`` to the same shape. Training needs more than
        one value per feature (N·L > 1).

    Attributes:
        weight: γ, Parameter of shape ``(C,)``, initialised to ones (``None`` if not affine).
        bias: β, Parameter of shape ``(C,)``, initialised to zeros (``None`` if not affine).
        running_mean, running_var: buffers of shape ``(C,)``, starting at 0 and 1.
        num_batches_tracked: buffer, a 0-d int64 array counting training batches.

    Example:
        >>> bn = BatchNorm1d(2)
        >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> y.round(3)
        array([[-1., -1.],
               [ 1.,  1.]])
        >>> bn.running_mean
        array([0.2, 2. ])
    """

    def _check_shape(self, x: NDArray[np.floating]) -> None:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            c = self.num_features
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {c}) or (N, {c}, L), got {x.shape}")


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation ``y = γ ⊙ (x − μ) / √(σ² + ε) + β`` per channel of an image batch.

    As :class:`BatchNorm1d`, with the statistics of each channel over the batch and both spatial axes
    (N·H·W values). In training, ``μ`` and ``σ²`` are the batch mean and biased variance of each channel, and
    the running statistics are updated as
    ``running_mean ← (1 − momentum) running_mean + momentum μ`` and
    ``running_var ← (1 − momentum) running_var + momentum σ² n/(n − 1)`` (the unbiased variance,
    n = N·H·W). In eval, ``μ`` and ``σ²`` are ``running_mean`` and ``running_var``.

    Local derivatives, with ``g = ∂L/∂y``, the cached ``x̂ = (x − μ)/√(σ² + ε)`` and ``r = 1/√(σ² + ε)``,
    sums and means over the n values of a channel:

    - ``∂L/∂γ = Σ g ⊙ x̂``,  ``∂L/∂β = Σ g``
    - training: ``∂L/∂x = r ⊙ (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))`` with ``ĝ = γ ⊙ g``
      (μ and σ² depend on x); eval: ``∂L/∂x = r ⊙ γ ⊙ g``.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance (default 1e-5).
        momentum: the running statistics' update factor (default 0.1);
            ``None`` gives the cumulative average over all batches seen.
        affine: if ``False``, no γ and β (``y = x̂``).
        dtype: the parameters' and statistics' dtype, float64 (default) or
            float32; the input must have it (integer input is converted).

    Shape:
        ``(N, C, H, W)`` to the same shape. Training needs more than one value
        per channel (N·H·W > 1).

    Attributes:
        weight: γ, Parameter of shape ``(C,)``, initialised to ones (``None`` if not affine).
        bias: β, Parameter of shape ``(C,)``, initialised to zeros (``None`` if not affine).
        running_mean, running_var: buffers of shape ``(C,)``, starting at 0 and 1.
        num_batches_tracked: buffer, a 0-d int64 array counting training batches.

    Example:
        >>> bn = BatchNorm2d(2)
        >>> y = bn(np.arange(8.0).reshape(1, 2, 2, 2))  # channel 0 holds 0, 1, 2, 3; channel 1 holds 4, ..., 7
        >>> y[0, 0].round(3)
        array([[-1.342, -0.447],
               [ 0.447,  1.342]])
        >>> bn.running_mean
        array([0.15, 0.55])
    """

    def _check_shape(self, x: NDArray[np.floating]) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected input of shape (N, {self.num_features}, H, W), got {x.shape}")


class LayerNorm(Layer):
    r"""Layer normalisation ``y = γ ⊙ (x − μ) / √(σ² + ε) + β`` over the last axes of each sample.

    ``μ`` and ``σ²`` are the mean and biased variance of each sample over its last
    ``len(normalized_shape)`` axes (n values), the same in training and eval: no running statistics. γ and β
    have the shape ``normalized_shape`` and act elementwise.

    Local derivatives, with ``g = ∂L/∂y``, the cached ``x̂ = (x − μ)/√(σ² + ε)`` and ``r = 1/√(σ² + ε)``
    (one per sample), means over the n normalised values of a sample, sums over the leading axes:

    - ``∂L/∂x = r ⊙ (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))`` with ``ĝ = γ ⊙ g`` (``ĝ = g`` without γ)
    - ``∂L/∂γ = Σ g ⊙ x̂``,  ``∂L/∂β = Σ g``

    Args:
        normalized_shape: the trailing shape normalised over; an int ``d`` means ``(d,)``.
        eps: added to the variance (default 1e-5).
        elementwise_affine: if ``False``, no γ and β (``y = x̂``).
        bias: if ``False`` (with ``elementwise_affine``), γ but no β.
        dtype: the parameters' dtype, float64 (default) or float32; the input must have it (integer input is
            converted).

    Shape:
        ``(*, *normalized_shape)`` to the same shape; an input whose trailing shape is another is a ValueError
        naming the layer.

    Attributes:
        weight: γ, Parameter of shape ``normalized_shape``, initialised to ones (``None`` if not affine).
        bias: β, Parameter of shape ``normalized_shape``, initialised to zeros (``None`` if not affine or
            ``bias=False``).

    Example:
        >>> ln = LayerNorm(2)
        >>> ln(np.array([[1.0, 3.0], [10.0, 30.0]])).round(3)
        array([[-1.,  1.],
               [-1.,  1.]])
        >>> LayerNorm((3, 4), elementwise_affine=False)
        LayerNorm((3, 4), eps=1e-05, elementwise_affine=False, bias=False)
    """

    local_derivative = {
        "∂L/∂x": "r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), ĝ = γ g",
        "∂L/∂γ": "Σ g ⊙ x̂",
        "∂L/∂β": "Σ g",
    }
    parameter_symbols = {"γ": "weight", "β": "bias"}

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: Any = np.float64,
    ) -> None:
        if is_int(normalized_shape):
            shape: tuple[Any, ...] = (normalized_shape,)
        elif isinstance(normalized_shape, (tuple, list)) and all(map(is_int, normalized_shape)):
            shape = tuple(normalized_shape)
        else:
            raise TypeError(
                f"LayerNorm: normalized_shape must be an int or a tuple of ints, got {describe(normalized_shape)}"
            )
        if not shape or any(side < 1 for side in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive sides, got {normalized_shape!r}")
        eps = check_real("LayerNorm", "eps", eps, 0.0)
        elementwise_affine = check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        bias = check_bool("LayerNorm", "bias", bias)
        dtype = float_dtype(dtype, "LayerNorm")
        self.normalized_shape = tuple(int(side) for side in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(shape), dtype) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape), dtype) if elementwise_affine and bias else None
        self.x_hat: NDArray[np.floating]  # cached normalised input, set by forward
        self.r: NDArray[np.floating]  # cached 1/√(σ² + ε), one per sample (kept axes of size 1), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k :] != self.normalized_shape:
            shape = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"LayerNorm: normalized_shape={self.normalized_shape}, "
                f"expected input of shape (*, {shape}), got {x.shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        var = np.mean(centered * centered, axis=axes, keepdims=True)  # the biased variance
        self.r = 1.0 / np.sqrt(var + self.eps)
        centered *= self.r  # x̂ = (x − μ) r, in the array just made
        self.x_hat = centered
        y = self.x_hat if self.weight is None else self.x_hat * self.weight.data
        return y if self.bias is None else y + self.bias.data

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x_hat, r, g = self.x_hat, self.r, grad_output
        k = len(self.normalized_shape)
        axes = tuple(range(g.ndim - k, g.ndim))  # the normalised axes
        leading = tuple(range(g.ndim - k))  # the samples
        # parameter gradients (added): ∂L/∂γ = Σ g ⊙ x̂, ∂L/∂β = Σ g, over the leading axes
        if self.weight is not None:
            self.weight.grad += (g * x_hat).sum(axis=leading)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=leading)
        # input gradient: r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), ĝ = γ g
        g_hat = g if self.weight is None else g * self.weight.data
        grad = x_hat * np.mean(g_hat * x_hat, axis=axes, keepdims=True)
        grad += np.mean(g_hat, axis=axes, keepdims=True)
        np.subtract(g_hat, grad, out=grad)
        grad *= r
        return grad

    def extra_repr(self) -> str:
        affine = f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        return f"{self.normalized_shape}, eps={self.eps}, {affine}"
