"""Elementwise and normalising activations."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice, check_int, check_real
from .layer import Layer

# The dtype rule of every activation: float input keeps its dtype (float32 stays
# float32), integer and bool input becomes float64; backward wants grad_output of
# the forward's shape and dtype (integer data is converted, another float dtype
# raises TypeError).


def minus_max(x: NDArray[np.floating], axis: int) -> NDArray[np.floating]:
    """``x − max(x)`` along ``axis``, the shift of a softmax: ``exp`` of it cannot overflow.

    A difference below the float range (``−1e308 − 1e308``) is ``−inf``, whose ``exp`` is the right 0: that
    overflow is expected and not reported, whatever ``np.errstate`` says."""
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):
        return x - m


def _check_axis(x: NDArray[np.floating], layer: Softmax | LogSoftmax) -> None:
    """A ValueError naming the layer when ``layer.axis`` is not one of ``x``'s axes."""
    if not -x.ndim <= layer.axis < x.ndim:
        raise ValueError(f"{type(layer).__name__}: axis={layer.axis} is out of range for an input of shape {x.shape}")


class Sigmoid(Layer):
    r"""Logistic sigmoid ``y = σ(x) = 1 / (1 + exp(-x))``, elementwise.

    Computed as written, in one array: ``exp(−x)``, plus 1, reciprocal. Where
    ``exp(−x)`` overflows (x below about −709 in float64, −88 in float32) it is
    ``inf`` and ``1/inf`` is 0, the correct limit, so that overflow is not
    reported: no warning for any float input (±1000, ±1e308, ±inf); NaN in
    gives NaN out.

    Local derivative, from the cached output ``y``:
    ``∂y/∂x = y ⊙ (1 − y)``, so ``∂L/∂x = grad_output ⊙ y ⊙ (1 − y)``.

    Shape:
        any shape ``(*)`` to the same shape; float dtypes are kept, integer
        input becomes float64.

    Example:
        >>> Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

    local_derivative = {"∂L/∂x": "g ⊙ y ⊙ (1 − y)"}
    saturation_bounds = (0.0, 1.0)

    def __init__(self) -> None:
        self.y: NDArray[np.floating]  # cached output, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        with np.errstate(over="ignore"):  # exp(−x) = inf for x < −709 gives y = 1/inf = 0: the right limit
            y = np.exp(-x)
        y += 1.0
        self.y = np.reciprocal(y, out=y)  # y = 1 / (1 + exp(−x))
        return self.y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        y = self.y
        return grad_output * y * (1.0 - y)


class ReLU(Layer):
    r"""Rectified linear unit ``y = max(0, x)``, elementwise.

    Local derivative, from the cached mask ``y ≠ 0``, which is ``x > 0``:
    ``∂y/∂x = 1 where x > 0, else 0``, so ``∂L/∂x = grad_output ⊙ [x > 0]``
    (0 at x = 0, as PyTorch). NaN in gives NaN out, and at a NaN the gradient
    passes (``NaN ≠ 0``), as PyTorch's, which tests ``y ≤ 0``.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> ReLU()(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """

    local_derivative = {"∂L/∂x": "g ⊙ [x > 0]"}
    dies_at_zero = True

    def __init__(self) -> None:
        self.mask: NDArray[np.bool_]  # cached y ≠ 0 (x > 0, and NaN), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        y = np.maximum(x, 0)  # maximum keeps NaN
        self.mask = y != 0
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output * self.mask


class LeakyReLU(Layer):
    r"""Leaky ReLU ``y = x if x > 0 else negative_slope · x``, elementwise.

    Local derivative, from the cached mask ``x > 0``:
    ``∂y/∂x = 1 where x > 0, else negative_slope`` (negative_slope at a NaN,
    as PyTorch). NaN in gives NaN out.

    Args:
        negative_slope: the slope for x ≤ 0 (default 0.01).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> LeakyReLU(0.1)(np.array([-2.0, 3.0]))
        array([-0.2,  3. ])
    """

    local_derivative = {"∂L/∂x": "g ⊙ (1 if x > 0 else negative_slope)"}

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = check_real("LeakyReLU", "negative_slope", negative_slope)
        self.mask: NDArray[np.bool_]  # cached x > 0, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.mask = x > 0
        return np.where(self.mask, x, self.negative_slope * x)  # NaN fails x > 0 and stays NaN

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return np.where(self.mask, grad_output, self.negative_slope * grad_output)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Layer):
    r"""Exponential linear unit ``y = x if x > 0 else α (exp(x) − 1)``, elementwise.

    Local derivative, from the cached input ``x``:
    ``∂y/∂x = α exp(x) where x ≤ 0, else 1`` (1 at a NaN, as PyTorch).
    ``exp`` is taken of ``min(x, 0)`` only, ``expm1`` for the output, so large
    inputs never overflow.

    Args:
        alpha: the value ``y`` tends to as x → −∞ is ``−alpha`` (default 1.0).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> ELU()(np.array([0.0, 2.0]))
        array([0., 2.])
    """

    local_derivative = {"∂L/∂x": "g ⊙ (1 if x > 0 else α exp(x))"}

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = check_real("ELU", "alpha", alpha)
        self.x: NDArray[np.floating]  # cached input, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.x = x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x = self.x
        return np.where(x <= 0, grad_output * self.alpha * np.exp(np.minimum(x, 0)), grad_output)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Tanh(Layer):
    r"""Hyperbolic tangent ``y = tanh(x)``, elementwise.

    Local derivative, from the cached output ``y``: ``∂y/∂x = 1 − y²``.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> Tanh()(np.array([0.0, 1000.0]))
        array([0., 1.])
    """

    local_derivative = {"∂L/∂x": "g ⊙ (1 − y²)"}
    saturation_bounds = (-1.0, 1.0)

    def __init__(self) -> None:
        self.y: NDArray[np.floating]  # cached output, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        y = self.y
        return grad_output * (1.0 - y * y)


class Softplus(Layer):
    r"""Softplus ``y = (1/β) log(1 + exp(β x))``, elementwise; ``y = x`` where ``β x > threshold``.

    Computed as ``(max(z, 0) + log1p(exp(−|z|))) / β`` with ``z = β x``, which
    never overflows (a ``z`` past the float range, β > 1 and x near 1e308, is
    ``±inf``, which gives the right ``y``: x, or 0). Local derivative, from the cached ``z``:
    ``∂y/∂x = σ(z)`` (the logistic sigmoid), and 1 where ``z > threshold``.

    Args:
        beta: the sharpness β (default 1.0).
        threshold: above ``β x > threshold`` the layer is the identity (default 20.0).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> Softplus()(np.array([0.0, 100.0]))
        array([  0.693147, 100.      ])
    """

    local_derivative = {"∂L/∂x": "g ⊙ σ(β x), g where β x > threshold"}

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = check_real("Softplus", "beta", beta, 0.0, low_open=True)
        self.threshold = check_real("Softplus", "threshold", threshold)
        self.z: NDArray[np.floating]  # cached β x, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        with np.errstate(over="ignore"):  # β x past the float range is ±inf: y = x above the threshold, 0 below
            self.z = z = self.beta * x
        soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / self.beta
        return np.where(z > self.threshold, x, soft)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        z = self.z
        e = np.exp(-np.abs(z))
        sigma = np.where(z >= 0, 1.0, e) / (1.0 + e)  # σ(z), as in Sigmoid
        return grad_output * np.where(z > self.threshold, 1.0, sigma)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


_math_erf = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf: the C library's, one element at a time


def _erf(x: NDArray[np.floating]) -> NDArray[np.floating]:
    """The error function elementwise, by ``math.erf`` (libm, float64), in ``x``'s dtype; NaN stays NaN.

    About 0.3 s per million elements, four times the tanh approximation's time."""
    return np.asarray(_math_erf(x), dtype=x.dtype)


class GELU(Layer):
    r"""Gaussian error linear unit ``y = x Φ(x)``, elementwise, ``Φ`` the standard normal CDF.

    ``approximate="none"``: exact, ``y = ½ x (1 + erf(x/√2))`` (erf by
    ``math.erf``, element by element); local derivative, from the cached input:
    ``∂y/∂x = Φ(x) + x φ(x)``, ``φ(x) = exp(−x²/2)/√(2π)``.

    ``approximate="tanh"`` (the default, as minnet has always had it; PyTorch's
    default is ``"none"``): ``y = ½ x (1 + tanh(u))``,
    ``u = √(2/π) (x + 0.044715 x³)``, x capped at ±10 in ``u`` (tanh is ±1
    there already in float64, and x³ cannot overflow); local derivative, from the cached input
    ``x`` and ``t = tanh(u)``:
    ``∂y/∂x = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)``.

    Args:
        approximate: ``"tanh"`` (default) or ``"none"``.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> GELU()
        GELU(approximate='tanh')
        >>> GELU()(np.array([0.0, 10.0]))
        array([ 0., 10.])
        >>> GELU("none")(np.array([-1.0, 1.0]))
        array([-0.158655,  0.841345])
    """

    local_derivative = {
        "∂L/∂x": {
            "approximate='none'": "g ⊙ (Φ(x) + x φ(x))",
            "approximate='tanh'": "g ⊙ (½(1 + t) + ½ x (1 − t²) √(2/π) (1 + 0.134145 x²)),  t = tanh(u)",
        }
    }
    K = math.sqrt(2.0 / math.pi)
    C = 0.044715

    def __init__(self, approximate: str = "tanh") -> None:
        self.approximate = check_choice("GELU", "approximate", approximate, ("none", "tanh"))
        self.x: NDArray[np.floating]  # cached input, set by forward
        self.t: NDArray[np.floating]  # cached tanh(u) ("tanh") or Φ(x) ("none"), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.x = x
        if self.approximate == "none":
            self.t = 0.5 * (1.0 + _erf(x * math.sqrt(0.5)))  # Φ(x), as PyTorch computes it
            return x * self.t
        # tanh(u) is ±1 in float64 once |u| > 19 (|x| > 7.2): x is capped at ±10 in u, so that x³ cannot overflow
        x_capped = np.clip(x, -10.0, 10.0)
        self.t = np.tanh(self.K * (x_capped + self.C * x_capped**3))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x, t = self.x, self.t
        if self.approximate == "none":
            # φ(x); |x| capped at 40 (φ(40) = 0 in float64) so x² cannot overflow for any finite x
            phi = np.exp(-0.5 * np.square(np.minimum(np.abs(x), 40.0))) / math.sqrt(2.0 * math.pi)
            return grad_output * (t + x * phi)
        x_capped = np.clip(x, -10.0, 10.0)  # as in forward: beyond ±10, 1 − t² = 0 and x² could overflow
        du_dx = self.K * (1.0 + 3.0 * self.C * x_capped * x_capped)
        return grad_output * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx)

    def local_derivatives(self) -> dict[str, str]:
        """The formula of this GELU's ``approximate``."""
        table, condition = self.local_derivative or {}, f"approximate={self.approximate!r}"
        return {lhs: entry[condition] for lhs, entry in table.items() if isinstance(entry, dict)}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SELU(Layer):
    r"""Scaled exponential linear unit ``y = λ x if x > 0 else λ α (exp(x) − 1)``, elementwise,
    with PyTorch's constants ``α = 1.6732632423543772``, ``λ = 1.0507009873554805``.

    Local derivative, from the cached input ``x``:
    ``∂y/∂x = λ α exp(x) where x ≤ 0, else λ`` (λ at a NaN, as PyTorch).
    ``exp`` is taken of ``min(x, 0)`` only, so large inputs never overflow.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> SELU()(np.array([0.0, 1.0]))
        array([0.      , 1.050701])
    """

    local_derivative = {"∂L/∂x": "g ⊙ (λ if x > 0 else λ α exp(x))"}
    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self) -> None:
        self.x: NDArray[np.floating]  # cached input, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.x = x
        return self.SCALE * np.where(x > 0, x, self.ALPHA * np.expm1(np.minimum(x, 0)))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x = self.x
        slope = np.where(x <= 0, self.SCALE * self.ALPHA * np.exp(np.minimum(x, 0)), self.SCALE)
        return grad_output * slope.astype(grad_output.dtype, copy=False)


class Hardtanh(Layer):
    r"""Hard tanh ``y = clip(x, min_val, max_val)``, elementwise.

    Local derivative, from the cached mask ``min_val < x < max_val``:
    ``∂y/∂x = 1 inside, 0 outside`` (0 at either bound, as PyTorch).
    NaN in gives NaN out; at a NaN the gradient passes, as PyTorch's, which
    zeroes it where ``x ≤ min_val or x ≥ max_val``.

    Args:
        min_val: the lower bound (default -1.0).
        max_val: the upper bound (default 1.0), greater than min_val.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> Hardtanh()(np.array([-3.0, 0.5, 2.0]))
        array([-1. ,  0.5,  1. ])
    """

    local_derivative = {"∂L/∂x": "g ⊙ [min_val < x < max_val]"}

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        min_val, max_val = check_real("Hardtanh", "min_val", min_val), check_real("Hardtanh", "max_val", max_val)
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val must be greater than min_val, got {min_val} and {max_val}")
        self.min_val, self.max_val = min_val, max_val
        self.mask: NDArray[np.bool_]  # cached min_val < x < max_val, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.mask = ~((x <= self.min_val) | (x >= self.max_val))  # min_val < x < max_val, and NaN
        return np.clip(x, self.min_val, self.max_val)  # clip keeps NaN

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output * self.mask

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Hardsigmoid(Layer):
    r"""Hard sigmoid ``y = clip(x + 3, 0, 6) / 6``, elementwise: 0 below −3, 1 above 3, ``x/6 + ½`` between.

    Local derivative, from the cached mask ``−3 < x < 3``:
    ``∂y/∂x = 1/6 inside, 0 outside`` (0 at ±3, as PyTorch). The 1/6 of the
    derivative is PyTorch's constant, ``1.0f / 6.0f``: 1/6 rounded to float32,
    3e-8 from 1/6. NaN in gives NaN out, and a gradient of 0 at a NaN, as
    PyTorch's.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> Hardsigmoid()(np.array([-4.0, 0.0, 1.5, 4.0]))
        array([0.  , 0.5 , 0.75, 1.  ])
    """

    local_derivative = {"∂L/∂x": "g ⊙ (1/6 if −3 < x < 3 else 0)"}
    saturation_bounds = (0.0, 1.0)
    ONE_SIXTH = float(np.float32(1.0) / np.float32(6.0))  # PyTorch's backward multiplies by this

    def __init__(self) -> None:
        self.mask: NDArray[np.bool_]  # cached −3 < x < 3, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.mask = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6  # PyTorch's order of operations; clip keeps NaN

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output * np.where(self.mask, self.ONE_SIXTH, 0.0).astype(grad_output.dtype, copy=False)


class Softmax(Layer):
    r"""Softmax along ``axis``: ``y_i = exp(x_i − m) / Σ_j exp(x_j − m)``, ``m = max_j x_j``.

    Subtracting the maximum keeps ``exp`` from overflowing; where ``x_i − m``
    itself is below the float range (``x_i = −1e308`` beside ``m = 1e308``) it
    is ``−inf`` and its ``exp`` the right 0, so that overflow is not reported.
    Not elementwise:
    each output depends on the whole slice, so the local derivative is the
    Jacobian ``∂y_i/∂x_j = y_i (δ_ij − y_j)``, applied from the cached output as
    ``∂L/∂x = y ⊙ (g − Σ_j g_j y_j)`` (sum along ``axis``).

    Args:
        axis: the axis that sums to one (default -1, the features).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> Softmax()(np.array([[0.0, 0.0], [1000.0, 0.0]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
    """

    local_derivative = {"∂L/∂x": "y ⊙ (g − Σ_j g_j y_j)"}

    def __init__(self, axis: int = -1) -> None:
        self.axis = check_int("Softmax", "axis", axis)
        self.y: NDArray[np.floating]  # cached output, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        _check_axis(x, self)
        e = np.exp(minus_max(x, self.axis))
        self.y = e / np.sum(e, axis=self.axis, keepdims=True)
        return self.y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        y = self.y
        return y * (grad_output - np.sum(grad_output * y, axis=self.axis, keepdims=True))

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Layer):
    r"""Log of the softmax along ``axis``: ``y_i = x_i − m − log Σ_j exp(x_j − m)``, ``m = max_j x_j``.

    The log-sum-exp form stays finite where ``log(Softmax(x))`` would give
    ``log 0 = −inf``; only an ``x_i − m`` below the float range (``−1e308``
    beside ``1e308``) gives ``y_i = −inf``, the exact value rounded. Local
    derivative ``∂y_i/∂x_j = δ_ij − softmax_j``, applied from the cached
    softmax ``p = exp(y)`` as ``∂L/∂x = g − p Σ_j g_j``.

    Args:
        axis: the axis the softmax is taken along (default -1).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> LogSoftmax()(np.array([[0.0, 0.0], [100.0, 0.0]]))
        array([[  -0.693147,   -0.693147],
               [   0.      , -100.      ]])
    """

    local_derivative = {"∂L/∂x": "g − softmax(x) Σ_j g_j"}

    def __init__(self, axis: int = -1) -> None:
        self.axis = check_int("LogSoftmax", "axis", axis)
        self.p: NDArray[np.floating]  # cached softmax = exp(y), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        _check_axis(x, self)
        shifted = minus_max(x, self.axis)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))
        self.p = np.exp(y)
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        p = self.p
        return grad_output - p * np.sum(grad_output, axis=self.axis, keepdims=True)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
