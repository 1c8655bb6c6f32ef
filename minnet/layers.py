"""Layers with parameters and shape-changing layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._rng import RngLike, make_rng
from .layer import Layer, as_float_array, as_input, check_grad_output, float_dtype
from .parameter import Parameter


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

    local_derivative = "∂L/∂x = g Wᵀ;  ∂L/∂W = xᵀ g;  ∂L/∂b = Σ_i g_i"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: RngLike = None,
        dtype: Any = np.float64,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got {in_features} and {out_features}"
            )
        dtype = float_dtype(dtype, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        generator = make_rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(generator.uniform(-bound, bound, (in_features, out_features)), dtype)
        self.bias = Parameter(generator.uniform(-bound, bound, out_features), dtype) if bias else None
        self.x: NDArray[np.floating] | None = None  # cached input

    def forward(self, x: ArrayLike) -> NDArray[np.floating]:
        x = as_input(x, self, self.weight.data.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (N, {self.in_features}), got {x.shape}")
        self.x = x
        y = x @ self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x = self.x
        grad_output = check_grad_output(grad_output, self, x.shape[:-1] + (self.out_features,), x.dtype)
        # parameter gradients (added): ∂L/∂W = xᵀ g, ∂L/∂b = Σ_i g_i
        x_rows = x.reshape(-1, self.in_features)
        g_rows = grad_output.reshape(-1, self.out_features)
        self.weight.grad += x_rows.T @ g_rows
        if self.bias is not None:
            self.bias.grad += g_rows.sum(axis=0)
        # input gradient: ∂L/∂x = g Wᵀ
        return grad_output @ self.weight.data.T

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Dropout(Layer):
    r"""Inverted dropout: in training ``y = x ⊙ m / (1 − p)``, ``m_i ~ Bernoulli(1 − p)``; in eval ``y = x``.

    Each element is zeroed with probability ``p`` and the survivors are scaled
    by ``1/(1 − p)``, so the expected output equals the input and eval mode
    needs no rescaling. The mask is drawn at each forward from the layer's own
    Generator ``self.rng``; replacing ``layer.rng`` by a fresh Generator of the
    same seed replays the same masks (what finite differences need).

    Local derivative, from the cached scaled mask ``s = m / (1 − p)``:
    ``∂L/∂x = grad_output ⊙ s`` in training, ``grad_output`` in eval.

    Args:
        p: the probability of zeroing an element, in [0, 1] (default 0.5);
            ``p = 1`` zeroes everything.
        rng: an int seed or a ``numpy.random.Generator`` for the masks
            (``None``: a fresh unseeded Generator).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Attributes:
        rng: the ``numpy.random.Generator`` the masks are drawn from.

    Example:
        >>> layer = Dropout(0.5, rng=0)
        >>> y = layer(np.ones((2, 4)))
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
        >>> layer.eval()(np.ones(3))
        array([1., 1., 1.])
    """

    local_derivative = "∂L/∂x = g ⊙ m/(1 − p)  (training);  g  (eval)"

    def __init__(self, p: float = 0.5, *, rng: RngLike = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self.rng = make_rng(rng)
        self.mask: NDArray[np.floating] | None = None  # cached m / (1 − p); None when nothing was dropped
        self.shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None

    def forward(self, x: ArrayLike) -> NDArray[np.floating]:
        x = as_float_array(x, self)
        self.shape, self.dtype, self.mask = x.shape, x.dtype, None
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self.mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return x * self.mask

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        grad_output = check_grad_output(grad_output, self, self.shape, self.dtype)
        return grad_output if self.mask is None else grad_output * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Layer):
    r"""Flatten dimensions ``start_dim`` to ``end_dim`` into one: ``(N, d1, …, dk) -> (N, d1·…·dk)`` by default.

    A reshape, so its local derivative is the reverse reshape:
    ``∂L/∂x = grad_output.reshape(x.shape)``, from the cached input shape.

    Args:
        start_dim: the first dimension to flatten (default 1, keeping the batch).
        end_dim: the last dimension to flatten (default -1).

    Shape:
        ``(N, *) -> (N, prod(*))`` with the defaults; the dtype is kept.

    Example:
        >>> Flatten()(np.zeros((2, 3, 4))).shape
        (2, 12)
    """

    local_derivative = "∂L/∂x = reshape(g, x.shape)"

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim
        self.shape: tuple[int, ...] | None = None  # cached input shape
        self.dtype: np.dtype | None = None
        self.out_shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> NDArray[np.floating]:
        x = as_float_array(x, self)
        in_range = all(-x.ndim <= d < x.ndim for d in (self.start_dim, self.end_dim))
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if not in_range or start > end:
            raise ValueError(
                f"Flatten: cannot flatten dimensions {self.start_dim}..{self.end_dim} of an input of shape {x.shape}"
            )
        self.shape, self.dtype = x.shape, x.dtype
        self.out_shape = x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :]
        return x.reshape(self.out_shape)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return check_grad_output(grad_output, self, self.out_shape, self.dtype).reshape(self.shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class BatchNorm1d(Layer):
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

    local_derivative = "∂L/∂x = r ⊙ (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), ĝ = γ g;  ∂L/∂γ = Σ g ⊙ x̂;  ∂L/∂β = Σ g"
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
        if num_features < 1:
            raise ValueError(f"BatchNorm1d: num_features must be positive, got {num_features}")
        dtype = float_dtype(dtype, "BatchNorm1d")
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        self.weight = Parameter(np.ones(num_features), dtype) if affine else None
        self.bias = Parameter(np.zeros(num_features), dtype) if affine else None
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.num_batches_tracked = np.array(0, dtype=np.int64)
        self.x_hat: NDArray[np.floating] | None = None  # cached normalised input
        self.r: NDArray[np.floating] | None = None  # cached 1/√(σ² + ε), shaped to broadcast
        self.batch_stats: bool = False  # whether the cached forward used batch statistics

    def forward(self, x: ArrayLike) -> NDArray[np.floating]:
        x = as_input(x, self, self.running_mean.dtype)
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            c = self.num_features
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {c}) or (N, {c}, L), got {x.shape}")
        axes, view = ((0,), (1, -1)) if x.ndim == 2 else ((0, 2), (1, -1, 1))
        n = x.size // self.num_features
        self.batch_stats = self.training
        if self.training:
            if n < 2:
                raise ValueError(f"BatchNorm1d: training needs more than 1 value per feature, got input {x.shape}")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            self.num_batches_tracked += 1
            m = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.r = (1.0 / np.sqrt(var + self.eps)).reshape(view)
        self.x_hat = (x - mean.reshape(view)) * self.r
        if not self.affine:
            return self.x_hat
        return self.x_hat * self.weight.data.reshape(view) + self.bias.data.reshape(view)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x_hat, r = self.x_hat, self.r
        g = check_grad_output(grad_output, self, x_hat.shape, x_hat.dtype)
        axes = (0,) if g.ndim == 2 else (0, 2)
        # parameter gradients (added): ∂L/∂γ = Σ g ⊙ x̂, ∂L/∂β = Σ g
        if self.affine:
            self.weight.grad += (g * x_hat).sum(axis=axes)
            self.bias.grad += g.sum(axis=axes)
            g = g * self.weight.data.reshape(r.shape)  # ĝ = γ g
        # input gradient
        if not self.batch_stats:
            return g * r
        return r * (g - g.mean(axis=axes, keepdims=True) - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
