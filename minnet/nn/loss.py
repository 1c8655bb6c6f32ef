"""Loss functions: ``loss_fn(pred, target)`` returns a float, ``loss_fn.backward()``
returns ∂L/∂pred and starts the backward chain.

The dtype rule of every loss: the prediction's float dtype is the loss's dtype
(integer predictions become float64). An integer or bool target (labels, 0/1
values) is converted to it; a float target of another float dtype raises
TypeError, as a float input of another dtype does in a layer with parameters:
minnet never casts silently.

``reduction="none"`` returns the unreduced losses as an ndarray; then
``backward(grad_output=None)`` takes the upstream gradient ∂L/∂ℓ of that shape
(ones by default, i.e. the gradient of ``ℓ.sum()``). With ``"mean"`` or
``"sum"`` the loss is a Python float and ``backward()`` takes no argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .layer import Layer, as_float_array, check_grad_output


class Loss(Layer):
    """Base class of the losses.

    A loss is a layer whose ``forward(pred, target)`` returns a Python float and
    whose ``backward()`` takes no argument: the loss is where the chain starts,
    with ∂L/∂L = 1. Subclasses list their reductions in ``reductions``; with
    ``reduction="none"`` forward returns the unreduced ndarray ``ℓ`` and
    ``backward(grad_output=None)`` takes ∂L/∂ℓ of ``ℓ``'s shape (ones by default).
    """

    reductions: tuple[str, ...] = ("mean", "sum", "none")
    reduction: str = "mean"  # so a user's loss that skips super().__init__() still works

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self.reductions}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, pred: ArrayLike, target: ArrayLike) -> Any:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def _reduce(self, unreduced: NDArray[np.floating]) -> float | NDArray[np.floating]:
        """ℓ itself for "none", else the float Σ ℓ or mean ℓ (over every element of ℓ)."""
        if self.reduction == "none":
            return unreduced
        if self.reduction == "sum":
            return float(np.sum(unreduced))
        return float(np.mean(unreduced))

    def _upstream(self, grad_output: ArrayLike | None, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """∂L/∂ℓ: grad_output (ones by default) for "none", 1/size for "mean", 1 for "sum"."""
        if self.reduction == "none":
            return np.ones(shape, dtype) if grad_output is None else check_grad_output(grad_output, self, shape, dtype)
        if grad_output is not None:
            raise TypeError(
                f"{type(self).__name__}.backward() takes no grad_output with reduction={self.reduction!r} "
                "(the loss is where the chain starts); only reduction='none' takes one"
            )
        return dtype.type(1.0 / max(int(np.prod(shape)), 1) if self.reduction == "mean" else 1.0)

    def _as_pred(self, pred: ArrayLike) -> NDArray[np.floating]:
        pred = as_float_array(pred, self)
        if pred.ndim == 0 or pred.shape[0] == 0:
            got = "a scalar" if pred.ndim == 0 else f"an empty batch of shape {pred.shape}"
            raise ValueError(f"{type(self).__name__}: expected a batch of shape (N, ...) with N >= 1, got {got}")
        return pred

    def _float_target(self, pred: NDArray[np.floating], target: ArrayLike, what: str) -> NDArray[np.floating]:
        """``target`` in ``pred``'s dtype (integer data converted, another float dtype a TypeError)."""
        target = np.asarray(target)
        if np.issubdtype(target.dtype, np.floating) and target.dtype != pred.dtype:
            raise TypeError(
                f"{type(self).__name__}: {what} has dtype {target.dtype} but the prediction {pred.dtype}; "
                f"convert the {what} with .astype(np.{pred.dtype}) (minnet does not cast silently)"
            )
        return as_float_array(target, self).astype(pred.dtype, copy=False)

    def _same_shape(self, pred: ArrayLike, target: ArrayLike) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        """Both as float arrays of pred's dtype, or a ValueError naming both shapes."""
        pred = self._as_pred(pred)
        target_shape = np.shape(target)
        if pred.shape != target_shape:
            raise ValueError(
                f"{type(self).__name__}: target shape {target_shape} does not match prediction shape "
                f"{pred.shape}; reshape one of them (no broadcasting is done)"
            )
        return pred, self._float_target(pred, target, "target")

    def _labels(self, pred: NDArray[np.floating], target: ArrayLike) -> NDArray[np.integer]:
        """Integer class labels of shape (N,), each in [0, C), else a ValueError saying what came."""
        target = np.asarray(target)
        n, c = pred.shape
        name = type(self).__name__
        if target.shape != (n,):
            raise ValueError(
                f"{name}: expected class labels of shape ({n},) for input {pred.shape}, got {target.shape}"
            )
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(
                f"{name}: expected integer class labels, got dtype {target.dtype} (use .astype(int) for labels"
                + (", or pass class probabilities of shape (N, C))" if isinstance(self, CrossEntropyLoss) else ")")
            )
        if n and (target.min() < 0 or target.max() >= c):
            raise ValueError(
                f"{name}: class labels must be in [0, {c - 1}] for {c} classes, "
                f"got values from {target.min()} to {target.max()}"
            )
        return target

    def _class_input(self, pred: ArrayLike, what: str) -> NDArray[np.floating]:
        pred = self._as_pred(pred)  # refuses a scalar and an empty batch
        if pred.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected {what} of shape (N, C), got {pred.shape}")
        return pred

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Loss):
    r"""Squared error between prediction ``ŷ`` and target ``Y`` (same shape, batch first).

    Unreduced: ``ℓ_ij = (Y_ij − ŷ_ij)²``. The reductions, N the batch size:

    - ``"half_batch_mean"`` (default, the derivation's loss):
      ``L = 1/(2N) Σ_i Σ_j (Y_ij − ŷ_ij)²``,  ``∂L/∂ŷ = (ŷ − Y) / N``
    - ``"mean"`` (the mean over all M elements):
      ``L = 1/M Σ (Y − ŷ)²``,  ``∂L/∂ŷ = 2 (ŷ − Y) / M``
    - ``"sum"``: ``L = Σ (Y − ŷ)²``,  ``∂L/∂ŷ = 2 (ŷ − Y)``
    - ``"none"``: ``ℓ`` itself; ``backward(G)`` returns ``2 (ŷ − Y) ⊙ G``.

    It caches the difference ``ŷ − Y``.

    Args:
        reduction: ``"half_batch_mean"``, ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        pred and target ``(N, *)``, exactly equal: a target of shape ``(N,)``
        against a prediction ``(N, 1)`` raises ValueError, never broadcasts.

    Example:
        >>> loss_fn = MSELoss()
        >>> loss_fn(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
        2.5
        >>> loss_fn.backward()
        array([[0.5],
               [1.5]])
    """

    reductions = ("half_batch_mean", "mean", "sum", "none")
    local_derivative = "∂ℓ/∂ŷ = 2(ŷ − Y);  half_batch_mean: ∂L/∂ŷ = (ŷ − Y)/N"

    def __init__(self, reduction: str = "half_batch_mean") -> None:
        super().__init__(reduction)
        self.diff: NDArray[np.floating] | None = None  # cached ŷ − Y

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        pred, target = self._same_shape(pred, target)
        self.diff = pred - target
        if self.reduction == "half_batch_mean":
            return float(np.sum(self.diff**2)) / (2 * pred.shape[0])
        return self._reduce(self.diff**2)

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        diff = self.diff
        if self.reduction == "half_batch_mean":
            self._upstream(grad_output, diff.shape, diff.dtype)  # rejects a grad_output
            return diff / diff.shape[0]
        return 2.0 * diff * self._upstream(grad_output, diff.shape, diff.dtype)


class L1Loss(Loss):
    r"""Absolute error ``ℓ = |ŷ − Y|`` elementwise; ``"mean"`` (default) over all elements, ``"sum"``, ``"none"``.

    Local derivative, from the cached ``d = ŷ − Y``: ``∂ℓ/∂ŷ = sign(d)``
    (0 at d = 0, as PyTorch), times 1/M for ``"mean"`` (M elements).

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        pred and target ``(N, *)``, exactly equal (no broadcasting).

    Example:
        >>> loss_fn = L1Loss()
        >>> loss_fn(np.array([[1.0, -1.0]]), np.array([[0.0, 0.0]]))
        1.0
        >>> loss_fn.backward()
        array([[ 0.5, -0.5]])
    """

    local_derivative = "∂ℓ/∂ŷ = sign(ŷ − Y)"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.diff: NDArray[np.floating] | None = None  # cached ŷ − Y

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        pred, target = self._same_shape(pred, target)
        self.diff = pred - target
        return self._reduce(np.abs(self.diff))

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        diff = self.diff
        return np.sign(diff) * self._upstream(grad_output, diff.shape, diff.dtype)


class HuberLoss(Loss):
    r"""Huber loss: ``ℓ = ½ d²`` where ``|d| ≤ δ``, else ``δ (|d| − ½ δ)``, with ``d = ŷ − Y``.

    Quadratic near zero, linear beyond δ. Local derivative, from the cached
    ``d``: ``∂ℓ/∂ŷ = d`` where ``|d| ≤ δ``, else ``δ sign(d)`` (i.e. ``clip(d, −δ, δ)``),
    times 1/M for ``"mean"``.

    Args:
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        delta: δ > 0, where the loss turns from quadratic to linear (default 1.0).

    Shape:
        pred and target ``(N, *)``, exactly equal (no broadcasting).

    Example:
        >>> loss_fn = HuberLoss(reduction="none")
        >>> loss_fn(np.array([[0.5, 3.0]]), np.array([[0.0, 0.0]]))
        array([[0.125, 2.5  ]])
        >>> loss_fn.backward()
        array([[0.5, 1. ]])
    """

    local_derivative = "∂ℓ/∂ŷ = clip(ŷ − Y, −δ, δ)"

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = float(delta)
        self.diff: NDArray[np.floating] | None = None  # cached ŷ − Y

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        pred, target = self._same_shape(pred, target)
        self.diff = d = pred - target
        a, delta = np.abs(d), self.delta
        return self._reduce(np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        diff = self.diff
        return np.clip(diff, -self.delta, self.delta) * self._upstream(grad_output, diff.shape, diff.dtype)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class BCELoss(Loss):
    r"""Binary cross-entropy on probabilities: ``ℓ = −(Y log p + (1 − Y) log(1 − p))``, elementwise.

    Each log is clamped at −100, so p = 0 or 1 gives a finite loss. Local
    derivative, from the cached ``p`` and ``Y``:
    ``∂ℓ/∂p = (p − Y) / max(p (1 − p), ε)``, ε = 1e-12 (the float32 value of
    1e-12, the denominator bounded away from zero as PyTorch does), times 1/M
    for ``"mean"``.

    Args:
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Shape:
        pred (probabilities in [0, 1]) and target ``(N, *)``, exactly equal.

    Example:
        >>> loss_fn = BCELoss()
        >>> round(loss_fn(np.array([[0.5, 1.0]]), np.array([[1.0, 1.0]])), 6)
        0.346574
    """

    local_derivative = "∂ℓ/∂p = (p − Y) / max(p(1 − p), 1e-12)"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.p: NDArray[np.floating] | None = None  # cached probabilities
        self.target: NDArray[np.floating] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        p, target = self._same_shape(pred, target)
        if np.any(np.isnan(p)):  # as PyTorch, which refuses NaN here too
            raise ValueError(f"BCELoss: expected probabilities in [0, 1], got NaN in {np.isnan(p).sum()} of {p.size}")
        if np.any((p < 0) | (p > 1)):
            raise ValueError(f"BCELoss: expected probabilities in [0, 1], got values from {p.min()} to {p.max()}")
        self.p, self.target = p, target
        with np.errstate(divide="ignore"):  # log 0 = −inf, clamped at −100 next
            log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return self._reduce(-(target * log_p + (1 - target) * log_1mp))

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        p, target = self.p, self.target
        eps = p.dtype.type(np.float32(1e-12))  # PyTorch's bound, a float32 constant
        local = (p - target) / np.maximum(p * (1 - p), eps)
        return local * self._upstream(grad_output, p.shape, p.dtype)


class BCEWithLogitsLoss(Loss):
    r"""Binary cross-entropy on logits: ``ℓ = −(Y log σ(z) + (1 − Y) log(1 − σ(z)))``, elementwise.

    Computed as ``max(z, 0) − z Y + log(1 + exp(−|z|))``, finite for any finite
    logit (±1e4 included). Local derivative, from the cached ``z`` and ``Y``:
    ``∂ℓ/∂z = σ(z) − Y``, times 1/M for ``"mean"``.

    Args:
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Shape:
        pred (logits) and target ``(N, *)``, exactly equal.

    Example:
        >>> loss_fn = BCEWithLogitsLoss(reduction="sum")
        >>> loss_fn(np.array([[1e4, -1e4]]), np.array([[1.0, 0.0]]))
        0.0
        >>> loss_fn.backward()
        array([[0., 0.]])
    """

    local_derivative = "∂ℓ/∂z = σ(z) − Y"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.z: NDArray[np.floating] | None = None  # cached logits
        self.target: NDArray[np.floating] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        z, target = self._same_shape(pred, target)
        self.z, self.target = z, target
        return self._reduce(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z))))

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        z = self.z
        e = np.exp(-np.abs(z))
        sigma = np.where(z >= 0, 1.0, e) / (1.0 + e)  # σ(z) without overflow
        return (sigma - self.target) * self._upstream(grad_output, z.shape, z.dtype)


class NLLLoss(Loss):
    r"""Negative log-likelihood on log-probabilities: ``ℓ_i = −x[i, y_i]`` for labels ``y``.

    Feed it the output of :class:`LogSoftmax`; with it, it is
    :class:`CrossEntropyLoss`. Local derivative, from the cached labels:
    ``∂ℓ_i/∂x[i, c] = −1 if c = y_i else 0``, times 1/N for ``"mean"``.

    Args:
        reduction: ``"mean"`` (default, over the N samples), ``"sum"`` or ``"none"``.

    Shape:
        pred ``(N, C)``; target ``(N,)`` integer labels in [0, C). PyTorch's
        ``weight`` and ``ignore_index`` are not implemented.

    Example:
        >>> loss_fn = NLLLoss()
        >>> loss_fn(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1]))  # doctest: +ELLIPSIS
        0.490...
        >>> loss_fn.backward()
        array([[-0.5,  0. ],
               [ 0. , -0.5]])
    """

    local_derivative = "∂ℓ_i/∂x[i, c] = −[c = y_i]"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.labels: NDArray[np.integer] | None = None  # cached labels
        self.shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        x = self._class_input(pred, "log-probabilities")
        self.labels = labels = self._labels(x, target)
        self.shape, self.dtype = x.shape, x.dtype
        return self._reduce(-x[np.arange(len(labels)), labels])

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        labels = self.labels
        grad = np.zeros(self.shape, self.dtype)
        grad[np.arange(len(labels)), labels] = -self._upstream(grad_output, labels.shape, self.dtype)
        return grad


class CrossEntropyLoss(Loss):
    r"""Cross-entropy of logits ``z`` against labels or class probabilities ``T``:
    ``ℓ_i = −Σ_c T_ic log softmax(z_i)_c``, which is ``logsumexp(z_i) − Σ_c T_ic z_ic`` when Σ_c T_ic = 1.

    Integer labels ``y`` mean ``T`` is one-hot. The softmax and the log are
    fused: ``log softmax(z) = z − m − log Σ exp(z − m)``, ``m`` the row maximum,
    so logits of ±1e4 give finite losses and gradients. Local derivative,
    from the cached softmax ``p`` and ``T``: ``∂ℓ_i/∂z_i = p_i Σ_c T_ic − T_i``, which
    is ``p_i − T_i`` for labels and for probabilities that sum to one, so with
    ``"mean"`` (over the N samples) ``∂L/∂z = (p − T) / N``. Like PyTorch, rows of
    ``T`` that do not sum to one are taken as they are, not normalised.

    Args:
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Shape:
        pred ``(N, C)`` logits; target ``(N,)`` integer labels in [0, C), or
        ``(N, C)`` float class probabilities. PyTorch's ``weight``,
        ``ignore_index`` and ``label_smoothing`` and its ``(N, C, d…)`` inputs
        are not implemented.

    Example:
        >>> loss_fn = CrossEntropyLoss()
        >>> round(loss_fn(np.array([[0.0, 0.0], [1e4, -1e4]]), np.array([1, 0])), 6)
        0.346574
        >>> loss_fn.backward()
        array([[ 0.25, -0.25],
               [ 0.  ,  0.  ]])
    """

    local_derivative = "∂ℓ_i/∂z_i = softmax(z_i) − T_i"  # for rows of T summing to 1; see the docstring

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.p: NDArray[np.floating] | None = None  # cached softmax(z)
        self.target: NDArray[np.floating] | None = None  # cached T (one-hot for labels)

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float | NDArray[np.floating]:  # type: ignore[override]
        z = self._class_input(pred, "logits")
        if np.shape(target) == z.shape:
            self.target = self._float_target(z, target, "class probabilities")
        else:
            labels = self._labels(z, target)
            self.target = np.zeros_like(z)
            self.target[np.arange(len(labels)), labels] = 1
        shifted = z - np.max(z, axis=1, keepdims=True)
        log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        self.p = np.exp(log_p)
        return self._reduce(-np.sum(self.target * log_p, axis=1))

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:  # type: ignore[override]
        p = self.p
        upstream = self._upstream(grad_output, p.shape[:1], p.dtype)
        local = p * self.target.sum(axis=1, keepdims=True) - self.target  # p − T when the rows sum to 1
        return local * (upstream[:, None] if self.reduction == "none" else upstream)
