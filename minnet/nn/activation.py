"""Elementwise and normalising activations."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .layer import Layer

# The dtype rule of every activation: float input keeps its dtype (float32 stays
# float32), integer and bool input becomes float64; backward wants grad_output of
# the forward's shape and dtype (integer data is converted, another float dtype
# raises TypeError).


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

    local_derivative = {"∂y/∂x": "y ⊙ (1 − y)"}
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

    Local derivative, from the cached mask ``x > 0``:
    ``∂y/∂x = 1 where x > 0, else 0``, so ``∂L/∂x = grad_output ⊙ [x > 0]``
    (0 at x = 0, as PyTorch). NaN in gives NaN out.

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> ReLU()(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """

    local_derivative = {"∂y/∂x": "[x > 0]"}
    dies_at_zero = True

    def __init__(self) -> None:
        self.mask: NDArray[np.bool_]  # cached x > 0, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.mask = x > 0
        return np.maximum(x, 0)  # maximum keeps NaN

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        return grad_output * self.mask


class LeakyReLU(Layer):
    r"""Leaky ReLU ``y = x if x > 0 else negative_slope · x``, elementwise.

    Local derivative, from the cached mask ``x > 0``:
    ``∂y/∂x = 1 where x > 0, else negative_slope``.

    Args:
        negative_slope: the slope for x ≤ 0 (default 0.01).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> LeakyReLU(0.1)(np.array([-2.0, 3.0]))
        array([-0.2,  3. ])
    """

    local_derivative = {"∂y/∂x": "1 if x > 0 else negative_slope"}

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)
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
    ``∂y/∂x = 1 where x > 0, else α exp(x)``. ``exp`` is taken of ``min(x, 0)``
    only, so large inputs never overflow.

    Args:
        alpha: the value ``y`` tends to as x → −∞ is ``−alpha`` (default 1.0).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> ELU()(np.array([0.0, 2.0]))
        array([0., 2.])
    """

    local_derivative = {"∂y/∂x": "1 if x > 0 else α exp(x)"}

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)
        self.x: NDArray[np.floating]  # cached input, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.x = x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x = self.x
        return np.where(x > 0, grad_output, grad_output * self.alpha * np.exp(np.minimum(x, 0)))

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

    local_derivative = {"∂y/∂x": "1 − y²"}
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
    never overflows. Local derivative, from the cached ``z``:
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

    local_derivative = {"∂y/∂x": "σ(β x), 1 where β x > threshold"}

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = float(beta), float(threshold)
        self.z: NDArray[np.floating]  # cached β x, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
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


class GELU(Layer):
    r"""Gaussian error linear unit, tanh approximation:
    ``y = ½ x (1 + tanh(u))``, ``u = √(2/π) (x + 0.044715 x³)``, elementwise.

    Only the tanh approximation is implemented, and the repr says so.
    Local derivative, from the cached input ``x`` and ``t = tanh(u)``:
    ``∂y/∂x = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)``.

    Args:
        approximate: must be ``"tanh"`` (the default).

    Shape:
        any shape ``(*)`` to the same shape and dtype.

    Example:
        >>> GELU()
        GELU(approximate='tanh')
        >>> GELU()(np.array([0.0, 10.0]))
        array([ 0., 10.])
    """

    local_derivative = {"∂y/∂x": "½(1 + t) + ½ x (1 − t²) √(2/π) (1 + 0.134145 x²),  t = tanh(u)"}
    K = math.sqrt(2.0 / math.pi)
    C = 0.044715

    def __init__(self, approximate: str = "tanh") -> None:
        if approximate != "tanh":
            raise ValueError(f"GELU: only approximate='tanh' is implemented, got {approximate!r}")
        self.approximate = approximate
        self.x: NDArray[np.floating]  # cached input, set by forward
        self.t: NDArray[np.floating]  # cached tanh(u), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        self.x = x
        self.t = np.tanh(self.K * (x + self.C * x**3))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        x, t = self.x, self.t
        du_dx = self.K * (1.0 + 3.0 * self.C * x * x)
        return grad_output * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Layer):
    r"""Softmax along ``axis``: ``y_i = exp(x_i − m) / Σ_j exp(x_j − m)``, ``m = max_j x_j``.

    Subtracting the maximum keeps ``exp`` from overflowing. Not elementwise:
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
        self.axis = axis
        self.y: NDArray[np.floating]  # cached output, set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        _check_axis(x, self)
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
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
    ``log 0 = −inf``. Local derivative ``∂y_i/∂x_j = δ_ij − softmax_j``, applied
    from the cached softmax ``p = exp(y)`` as ``∂L/∂x = g − p Σ_j g_j``.

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
        self.axis = axis
        self.p: NDArray[np.floating]  # cached softmax = exp(y), set by forward

    def forward(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        _check_axis(x, self)
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))
        self.p = np.exp(y)
        return y

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        p = self.p
        return grad_output - p * np.sum(grad_output, axis=self.axis, keepdims=True)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
