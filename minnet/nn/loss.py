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

import math
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from .module import Module, as_float, as_gradient, bind_leading, check_returned_gradient

TargetKind = Literal["float", "labels", "labels_or_probabilities", "any"]


class Loss(Module):
    """Base class of the losses.

    A loss is where the backward chain starts: ``forward(pred, target)``
    returns a Python float, and ``backward()`` takes no argument (∂L/∂L = 1)
    and returns ∂L/∂pred. Subclasses list their reductions in ``reductions``;
    with ``reduction="none"`` forward returns the unreduced ndarray ``ℓ`` and
    ``backward(grad_output=None)`` takes ∂L/∂ℓ of ``ℓ``'s shape (ones by default).

    A loss is not a layer: a container refuses it as a child. Like a layer's,
    its ``forward`` and ``backward`` are wrapped by minnet, so that a loss keeps
    only its math:

    - ``pred`` follows the dtype rule (integer data becomes float64; another
      type is a TypeError) and must be a batch, ``(N, ...)`` with N ≥ 1.
    - ``target`` is checked by the class attribute ``target_kind``:
      ``"float"`` (the default): the shape of ``pred`` exactly (never a
      broadcast), converted to its dtype (another float dtype is a TypeError);
      ``"labels"``: integer class labels ``(N,)`` in ``[0, C)`` for ``pred``
      of shape ``(N, C)``; ``"labels_or_probabilities"``: labels, or class
      probabilities of ``pred``'s shape; ``"any"``: passed on as it came.
    - ``backward``'s ``grad_output`` must be ``None`` when forward returned a
      float, and ``None`` or an array of the unreduced loss's shape when it
      returned an array; the gradient ``backward`` returns must have
      ``pred``'s shape and dtype.

    Class attributes a loss may set, besides ``target_kind`` and those of
    :class:`~minnet.nn.module.Module`: ``reductions``; ``pred_name``, what its
    prediction is called in messages ("logits", "probabilities", ...);
    ``takes_logits``, ``True`` when ``pred`` is a logit (``health`` reports the
    largest one).
    """

    reductions: ClassVar[tuple[str, ...]] = ("mean", "sum", "none")
    reduction: str = "mean"  # so a user's loss that skips super().__init__() still works
    target_kind: ClassVar[TargetKind] = "float"
    pred_name: ClassVar[str] = "prediction"
    takes_logits: ClassVar[bool] = False

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self.reductions}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def local_derivatives(self) -> dict[str, str]:
        """The formulas that apply to this loss: those written for its reduction
        when its table has them (MSELoss's ``half_batch_mean``), otherwise the
        unreduced derivative ``∂ℓ/∂…`` followed by the reduction's own factor
        ``∂L/∂ℓ``.

        Example:
            >>> L1Loss().local_derivatives()
            {'∂ℓ/∂ŷ': 'sign(ŷ − Y)', '∂L/∂ℓ': '1/M, M the number of terms (mean)'}
        """
        table = self.local_derivative or {}
        written = {lhs: f[self.reduction] for lhs, f in table.items() if not isinstance(f, str) and self.reduction in f}
        if written:
            return written
        applied = super().local_derivatives()
        if applied:
            factors = {"mean": "1/M, M the number of terms (mean)", "sum": "1 (sum)"}
            applied["∂L/∂ℓ"] = factors.get(self.reduction, f"grad_output ({self.reduction})")
        return applied

    # -- what the subclasses' math uses ---------------------------------------------------------------

    def _reduce(self, unreduced: NDArray[Any]) -> float | NDArray[Any]:
        """ℓ itself for "none", else the float Σ ℓ or mean ℓ (over every element of ℓ)."""
        if self.reduction == "none":
            return unreduced
        if self.reduction == "sum":
            return float(np.sum(unreduced))
        return float(np.mean(unreduced))

    def _upstream(self, grad_output: NDArray[Any] | None, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
        """∂L/∂ℓ: grad_output (ones by default) for "none", 1/size for "mean", 1 for "sum"."""
        if self.reduction == "none":
            return np.ones(shape, dtype) if grad_output is None else grad_output
        return dtype.type(1.0 / max(math.prod(shape), 1) if self.reduction == "mean" else 1.0)

    # -- the wrappers' checks -------------------------------------------------------------------------

    def _validate_forward(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args = bind_leading(self, "forward", 2, args, kwargs)
        if len(args) < 2:
            return args, kwargs  # forward's own TypeError says what is missing
        name = type(self).__name__
        pred = as_float(self, np.asarray(args[0]), "prediction")
        if pred.ndim == 0 or pred.shape[0] == 0:
            got = "a scalar" if pred.ndim == 0 else f"an empty batch of shape {pred.shape}"
            raise ValueError(f"{name}: expected a batch of shape (N, ...) with N >= 1, got {got}")
        target = args[1]
        kind = self.target_kind
        if kind == "labels_or_probabilities" and np.shape(target) == pred.shape and pred.ndim == 2:
            target = self._float_target(pred, target, "class probabilities")
        elif kind in ("labels", "labels_or_probabilities"):
            if pred.ndim != 2:
                raise ValueError(f"{name}: expected {self.pred_name} of shape (N, C), got {pred.shape}")
            target = self._labels(pred, np.asarray(target))
        elif kind == "float":
            if np.shape(target) != pred.shape:
                raise ValueError(
                    f"{name}: target shape {np.shape(target)} does not match prediction shape "
                    f"{pred.shape}; reshape one of them (no broadcasting is done)"
                )
            target = self._float_target(pred, target, "target")
        self.__dict__["_pred_spec"] = (pred.shape, pred.dtype)
        return (pred, target, *args[2:]), kwargs

    def _float_target(self, pred: NDArray[Any], target: Any, what: str) -> NDArray[Any]:
        """``target`` in ``pred``'s dtype (integer data converted, another float dtype a TypeError)."""
        target = np.asarray(target)
        if target.dtype.kind == "f" and target.dtype != pred.dtype:
            raise TypeError(
                f"{type(self).__name__}: {what} has dtype {target.dtype} but the prediction {pred.dtype}; "
                f"convert the {what} with .astype(np.{pred.dtype}) (minnet does not cast silently)"
            )
        if target.dtype.kind not in "fiub":
            raise TypeError(f"{type(self).__name__}: expected a {what} of real numbers, got dtype {target.dtype}")
        return target.astype(pred.dtype, copy=False)

    def _labels(self, pred: NDArray[Any], target: NDArray[Any]) -> NDArray[Any]:
        """Integer class labels of shape (N,), each in [0, C), else a ValueError saying what came."""
        n, c = pred.shape
        name = type(self).__name__
        if target.shape != (n,):
            raise ValueError(
                f"{name}: expected class labels of shape ({n},) for input {pred.shape}, got {target.shape}"
            )
        if target.dtype.kind not in "iu":
            also = (
                ", or pass class probabilities of shape (N, C)" if self.target_kind == "labels_or_probabilities" else ""
            )
            raise ValueError(
                f"{name}: expected integer class labels, got dtype {target.dtype} (use .astype(int) for labels{also})"
            )
        if target.min() < 0 or target.max() >= c:
            raise ValueError(
                f"{name}: class labels must be in [0, {c - 1}] for {c} classes, "
                f"got values from {target.min()} to {target.max()}"
            )
        return target

    def _record_forward(self, args: tuple[Any, ...], output: Any) -> None:
        self.__dict__["_output_spec"] = (output.shape, output.dtype) if isinstance(output, np.ndarray) else None

    def _validate_grad_output(self, grad_output: Any) -> Any:
        spec = self.__dict__.get("_output_spec")
        if grad_output is None:
            return None
        if spec is None:
            raise TypeError(
                f"{type(self).__name__}.backward() takes no grad_output with reduction={self.reduction!r} "
                "(the loss is where the chain starts); only reduction='none' takes one"
            )
        return as_gradient(self, grad_output, *spec)

    def _check_grad_input(self, grad_input: Any) -> None:
        shape, dtype = self.__dict__["_pred_spec"]
        check_returned_gradient(self, grad_input, shape, dtype, of="the prediction")


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
    local_derivative = {"∂ℓ/∂ŷ": "2(ŷ − Y)", "∂L/∂ŷ": {"half_batch_mean": "(ŷ − Y)/N"}}

    def __init__(self, reduction: str = "half_batch_mean") -> None:
        super().__init__(reduction)
        self.diff: NDArray[np.floating]  # cached ŷ − Y, set by forward

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.diff = pred - target
        if self.reduction == "half_batch_mean":
            return float(np.sum(self.diff**2)) / (2 * pred.shape[0])
        return self._reduce(self.diff**2)

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        diff = self.diff
        if self.reduction == "half_batch_mean":
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

    local_derivative = {"∂ℓ/∂ŷ": "sign(ŷ − Y)"}

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.diff: NDArray[np.floating]  # cached ŷ − Y, set by forward

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.diff = pred - target
        return self._reduce(np.abs(self.diff))

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
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

    local_derivative = {"∂ℓ/∂ŷ": "clip(ŷ − Y, −δ, δ)"}

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = float(delta)
        self.diff: NDArray[np.floating]  # cached ŷ − Y, set by forward

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.diff = d = pred - target
        a, delta = np.abs(d), self.delta
        return self._reduce(np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
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

    pred_name = "probabilities"
    local_derivative = {"∂ℓ/∂p": "(p − Y) / max(p(1 − p), 1e-12)"}

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.p: NDArray[np.floating]  # cached probabilities and target, set by forward
        self.target: NDArray[np.floating]

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        p = pred
        if np.any(np.isnan(p)):  # as PyTorch, which refuses NaN here too
            raise ValueError(f"BCELoss: expected probabilities in [0, 1], got NaN in {np.isnan(p).sum()} of {p.size}")
        if np.any((p < 0) | (p > 1)):
            raise ValueError(f"BCELoss: expected probabilities in [0, 1], got values from {p.min()} to {p.max()}")
        self.p, self.target = p, target
        with np.errstate(divide="ignore"):  # log 0 = −inf, clamped at −100 next
            log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return self._reduce(-(target * log_p + (1 - target) * log_1mp))

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
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

    pred_name = "logits"
    takes_logits = True
    local_derivative = {"∂ℓ/∂z": "σ(z) − Y"}

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.z: NDArray[np.floating]  # cached logits and target, set by forward
        self.target: NDArray[np.floating]

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.z, self.target = z, target = pred, target
        return self._reduce(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z))))

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
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

    target_kind = "labels"
    pred_name = "log-probabilities"
    local_derivative = {"∂ℓ_i/∂x[i, c]": "−[c = y_i]"}

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.labels: NDArray[np.integer]  # cached labels and the input's shape and dtype, set by forward
        self.shape: tuple[int, ...]
        self.dtype: np.dtype[Any]

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.labels, self.shape, self.dtype = target, pred.shape, pred.dtype
        return self._reduce(-pred[np.arange(len(target)), target])

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
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

    target_kind = "labels_or_probabilities"
    pred_name = "logits"
    takes_logits = True
    local_derivative = {"∂ℓ_i/∂z_i": "softmax(z_i) Σ_c T_ic − T_i"}  # softmax(z_i) − T_i when Σ_c T_ic = 1

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.p: NDArray[np.floating]  # cached softmax(z), set by forward
        self.target: NDArray[Any]  # cached T: the labels (N,), or the probabilities (N, C)

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        z = pred
        self.target = target
        shifted = z - np.max(z, axis=1, keepdims=True)  # z − m
        exp_shifted = np.exp(shifted)
        total = np.sum(exp_shifted, axis=1, keepdims=True)
        self.p = exp_shifted / total  # softmax(z)
        log_total = np.log(total)
        if target.shape == z.shape:  # class probabilities: ℓ_i = −Σ_c T_ic (z_ic − m_i − log total_i)
            return self._reduce(-np.sum(target * (shifted - log_total), axis=1))
        # labels: ℓ_i = log total_i − (z_iy − m_i), T one-hot without building it
        return self._reduce(log_total[:, 0] - shifted[np.arange(len(target)), target])

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        p, target = self.p, self.target
        upstream = self._upstream(grad_output, p.shape[:1], p.dtype)
        if target.shape == p.shape:  # probabilities: p Σ_c T_c − T, which is p − T when the rows sum to 1
            local = p * target.sum(axis=1, keepdims=True) - target
        else:  # labels: p − T, T one-hot
            local = p.copy()
            local[np.arange(len(target)), target] -= 1
        local *= upstream[:, None] if self.reduction == "none" else upstream  # local is this call's own array
        return local
