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

from .._checks import check_int, check_real, is_int, real_array
from .activation import minus_max
from .module import Module, as_float, as_gradient, bind_leading, check_returned_gradient

TargetKind = Literal["float", "labels", "labels_or_probabilities", "any"]


def divided_sum(values: NDArray[Any], count: Any) -> float:
    """``Σ values / count`` as a float: a mean, or the sum over 2N, or over the rows' weights.

    Where the sum alone passes the float range but the quotient does not (terms near 1e308), it is the sum of
    the shares ``values / count``: an overflow is reported only where the result itself overflows."""
    with np.errstate(over="ignore"):
        total = np.sum(values)
    if np.isinf(total) and np.all(np.isfinite(values)):  # the sum overflowed, not the terms
        return float(np.sum(values / count))
    return float(total / count)


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
        return divided_sum(unreduced, unreduced.size)

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
            if np.asarray(target).dtype.kind in "iub":  # as PyTorch: an (N, C) target holds probabilities
                raise TypeError(
                    f"{name}: a target of shape {pred.shape} holds class probabilities and must be floats, got dtype "
                    f"{np.asarray(target).dtype}; pass class labels of shape ({pred.shape[0]},), or convert "
                    f"the probabilities with .astype(np.{pred.dtype})"
                )
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
        ignore_index = getattr(self, "ignore_index", None)  # a label that marks a row as not counted
        counted = target if ignore_index is None else target[target != ignore_index]
        if counted.size and (counted.min() < 0 or counted.max() >= c):
            also = f" (or ignore_index={ignore_index}, a row not counted)" if ignore_index is not None else ""
            raise ValueError(
                f"{name}: class labels must be in [0, {c - 1}] for {c} classes, "
                f"got values from {counted.min()} to {counted.max()}{also}"
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
            return divided_sum(self.diff**2, 2 * pred.shape[0])
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
        self.delta = check_real("HuberLoss", "delta", delta, 0.0, low_open=True)
        self.diff: NDArray[np.floating]  # cached ŷ − Y, set by forward

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        self.diff = d = pred - target
        a, delta = np.abs(d), self.delta
        c = np.clip(d, -delta, delta)  # d where |d| ≤ δ: the quadratic branch never squares a large d
        return self._reduce(np.where(a <= delta, 0.5 * c * c, delta * (a - 0.5 * delta)))

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


# -- the losses on class labels: class weights, an ignored label ----------------------------------------------------


def _weight_argument(loss: str, weight: Any) -> NDArray[np.float64] | None:
    """``weight`` as a read-only float64 copy of shape (C,), or None; a ValueError or TypeError naming ``loss``
    otherwise. The weights are a constant of the loss, like HuberLoss's delta (no buffer: a loss has no dtype of
    its own, and forward uses them in the prediction's dtype); read-only, so that nothing changes them after."""
    if weight is None:
        return None
    if isinstance(weight, str):  # minnet's losses once took reduction first: CrossEntropyLoss("sum")
        raise TypeError(
            f"{loss}: weight must be an array of C class weights, got {weight!r}; "
            f"pass the reduction by name: {loss}(reduction={weight!r})"
        )
    array = real_array(loss, "weight", weight, np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{loss}: weight must be finite class weights, got {array}")
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{loss}: weight must have shape (C,), one weight per class, got shape {array.shape}")
    array.flags.writeable = False
    return array


def _class_weights(loss: NLLLoss | CrossEntropyLoss | MultiMarginLoss, c: int, dtype: np.dtype[Any]) -> Any:
    """The weights (C,) in the prediction's dtype, or None without weights; a ValueError if C does not match."""
    if loss.weight is None:
        return None
    if loss.weight.shape != (c,):
        raise ValueError(f"{type(loss).__name__}: weight has {loss.weight.size} entries but the input {c} classes")
    return loss.weight.astype(dtype)


def _repr_options(loss: Loss, **defaults: Any) -> str:
    """``reduction=...``, then each option that differs from its default."""
    parts = [f"reduction={loss.reduction!r}"]
    for name, default in defaults.items():
        value = getattr(loss, name)
        if value is None and default is None:
            continue
        if default is None or value != default:
            shown = value.tolist() if isinstance(value, np.ndarray) else value
            parts.append(f"{name}={shown}")
    return ", ".join(parts)


class NLLLoss(Loss):
    r"""Negative log-likelihood on log-probabilities: ``ℓ_i = −w[y_i] x[i, y_i]`` for labels ``y``.

    Feed it the output of :class:`LogSoftmax`; with it, it is
    :class:`CrossEntropyLoss`. ``w`` is the class weights (ones without
    ``weight``); a row whose label is ``ignore_index`` has ``ℓ_i = 0`` and is
    not counted. The reductions, as PyTorch:

    - ``"mean"`` (default): ``L = Σ_i ℓ_i / Σ_i w[y_i]``, both sums over the
      rows not ignored (without weights: the mean over those rows). Every row
      ignored gives 0/0 = NaN, as in PyTorch.
    - ``"sum"``: ``L = Σ_i ℓ_i``; ``"none"``: ``ℓ`` itself, shape (N,).

    Local derivative, from the cached labels and weights:
    ``∂ℓ_i/∂x[i, c] = −w[y_i] if c = y_i else 0`` (0 for an ignored row),
    divided by ``Σ_i w[y_i]`` for ``"mean"``.

    Args:
        weight: the class weights ``(C,)``, or ``None`` (all ones).
        ignore_index: the label of the rows not counted (default -100).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Shape:
        pred ``(N, C)``; target ``(N,)`` integer labels in [0, C) or
        ``ignore_index``.

    Example:
        >>> loss_fn = NLLLoss()
        >>> loss_fn(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1]))  # doctest: +ELLIPSIS
        0.490...
        >>> loss_fn.backward()
        array([[-0.5,  0. ],
               [ 0. , -0.5]])
        >>> weighted = NLLLoss(weight=[1.0, 3.0], ignore_index=0)  # the row labelled 0 is not counted
        >>> weighted(np.log(np.full((2, 2), 0.5)), np.array([0, 1]))  # doctest: +ELLIPSIS
        0.693...
    """

    target_kind = "labels"
    pred_name = "log-probabilities"
    local_derivative = {
        "∂ℓ_i/∂x[i, c]": "−w[y_i] [c = y_i], 0 for an ignored row",
        "∂L/∂x[i, c]": {"mean": "−w[y_i] [c = y_i] / Σ_k w[y_k], k over the rows not ignored"},
    }

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _weight_argument("NLLLoss", weight)
        self.ignore_index = check_int("NLLLoss", "ignore_index", ignore_index)
        self.labels: NDArray[np.integer]  # cached labels (0 where ignored), set by forward
        self.scale: NDArray[np.floating]  # cached w[y_i], 0 for an ignored row
        self.total: Any  # cached Σ_i w[y_i], what "mean" divides by
        self.shape: tuple[int, ...]  # the input's shape

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        n, c = pred.shape
        weight = _class_weights(self, c, pred.dtype)
        counted = target != self.ignore_index
        self.labels = labels = np.where(counted, target, 0)
        self.scale = np.where(counted, 1 if weight is None else weight[labels], 0).astype(pred.dtype)
        self.shape = pred.shape
        picked = np.where(counted, pred[np.arange(n), labels], 0)  # an ignored row's x may be log 0: 0 · −inf is NaN
        unreduced = (-self.scale * picked).astype(pred.dtype, copy=False)
        if self.reduction != "mean":
            return self._reduce(unreduced)
        self.total = np.sum(self.scale)
        return divided_sum(unreduced, self.total) if self.total != 0 else math.nan  # all ignored: NaN (PyTorch)

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        scale, labels = self.scale, self.labels
        if self.reduction == "mean":
            upstream = scale / self.total if self.total != 0 else np.zeros_like(scale)
        else:
            upstream = scale * self._upstream(grad_output, scale.shape, scale.dtype)
        grad = np.zeros(self.shape, scale.dtype)
        grad[np.arange(len(labels)), labels] = -upstream
        return grad

    def extra_repr(self) -> str:
        return _repr_options(self, weight=None, ignore_index=-100)


class CrossEntropyLoss(Loss):
    r"""Cross-entropy of logits ``z`` against labels or class probabilities ``T``:
    ``ℓ_i = −Σ_c w_c T_ic log softmax(z_i)_c``, which is ``logsumexp(z_i) − Σ_c T_ic z_ic`` when Σ_c T_ic = 1 and w = 1.

    Integer labels ``y`` mean ``T`` is one-hot. ``w`` is the class weights
    (ones without ``weight``). With ``label_smoothing`` ε the target becomes
    ``(1 − ε) T + ε/C``. A row whose label is ``ignore_index`` has ``ℓ_i = 0``
    and is not counted. The softmax and the log are fused:
    ``log softmax(z) = z − m − log Σ exp(z − m)``, ``m`` the row maximum, so
    logits of ±1e4 and a logit of −inf give finite losses and gradients (a
    −inf logit of a class whose probability in ``T`` is 0 too, taking
    ``0 · log 0 = 0``, where PyTorch gives NaN).

    The reductions, as PyTorch:

    - ``"mean"`` (default): labels: ``L = Σ_i ℓ_i / Σ_i w[y_i]``, over the rows
      not ignored (without weights: the mean over those rows; every row ignored
      gives NaN); probabilities: ``L = Σ_i ℓ_i / N``.
    - ``"sum"``: ``L = Σ_i ℓ_i``; ``"none"``: ``ℓ`` itself, shape (N,).

    Local derivative, from the cached softmax ``p`` and the target as the
    loss weighs it, ``T_i ← w ⊙ ((1 − ε) T_i + ε/C)`` (0 for an ignored row):
    ``∂ℓ_i/∂z_i = p_i Σ_c T_ic − T_i``, which is ``p_i − T_i`` for labels
    without weights or smoothing, so with ``"mean"`` ``∂L/∂z = (p − T) / N``.
    Like PyTorch, rows of ``T`` that do not sum to one are taken as they are,
    not normalised.

    Args:
        weight: the class weights ``(C,)``, or ``None`` (all ones).
        ignore_index: the label of the rows not counted (default -100; labels only).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        label_smoothing: ε in [0, 1] (default 0.0).

    Shape:
        pred ``(N, C)`` logits; target ``(N,)`` integer labels in [0, C) or
        ``ignore_index``, or ``(N, C)`` float class probabilities (an integer
        ``(N, C)`` target is refused, as in PyTorch). PyTorch's ``(N, C, d…)``
        inputs are not implemented.

    Example:
        >>> loss_fn = CrossEntropyLoss()
        >>> round(loss_fn(np.array([[0.0, 0.0], [1e4, -1e4]]), np.array([1, 0])), 6)
        0.346574
        >>> loss_fn.backward()
        array([[ 0.25, -0.25],
               [ 0.  ,  0.  ]])
        >>> CrossEntropyLoss()(np.array([[0.0, -np.inf]]), np.array([0]))  # a class ruled out: finite
        0.0
    """

    target_kind = "labels_or_probabilities"
    pred_name = "logits"
    takes_logits = True
    # T_i here is the target as the loss weighs it, w ⊙ ((1 − ε) T_i + ε/C), 0 for an ignored row; the formula's
    # text is what explain() prints (docs/tutorials/digits.md shows it), so it keeps its one short form
    local_derivative = {"∂ℓ_i/∂z_i": "softmax(z_i) Σ_c T_ic − T_i"}

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
    ) -> None:
        super().__init__(reduction)
        self.weight = _weight_argument("CrossEntropyLoss", weight)
        self.ignore_index = check_int("CrossEntropyLoss", "ignore_index", ignore_index)
        self.label_smoothing = check_real("CrossEntropyLoss", "label_smoothing", label_smoothing, 0.0, 1.0)
        self.p: NDArray[np.floating]  # cached softmax(z), set by forward
        self.target: NDArray[Any]  # cached T: the labels (N,) (0 where ignored), or the probabilities (N, C)
        self.scale: NDArray[np.floating]  # labels: cached w[y_i], 0 for an ignored row
        self.counted: NDArray[np.bool_]  # labels: the rows not ignored
        self.denominator: Any  # what "mean" divides by: Σ_i w[y_i] (labels) or N (probabilities)

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        z, (n, c), eps = pred, pred.shape, self.label_smoothing
        weight = _class_weights(self, c, z.dtype)
        shifted = minus_max(z, axis=1)  # z − m: −inf stays −inf (only a row of all −inf is NaN), as does −1e308 − 1e308
        exp_shifted = np.exp(shifted)
        total = np.sum(exp_shifted, axis=1, keepdims=True)
        self.p = exp_shifted / total  # softmax(z)
        log_total = np.log(total)
        # log softmax(z) = z − m − log total, as a whole array only where every class enters the loss
        log_p = shifted - log_total if eps or target.shape == z.shape else None
        smooth = None  # the smoothing's term (ε/C) Σ_c w_c (−log p_c), each term scaled before the sum: it stays in
        if log_p is not None and eps:  # range where the loss does (log p of −1e308 beside a logit of 0)
            smooth = -np.sum(log_p * (eps / c if weight is None else weight * (eps / c)), axis=1)
        if log_p is not None and target.shape == z.shape:  # class probabilities
            self.target = target
            q = target if weight is None else target * weight
            unreduced = -np.sum(q * np.where(q == 0, 0, log_p), axis=1)  # 0 · log 0 = 0 (PyTorch: NaN)
            if smooth is not None:
                unreduced = (1 - eps) * unreduced + smooth
            self.denominator = n
        else:  # labels: ℓ_i = w[y_i] (log total_i − (z_iy − m_i)), T one-hot without building it
            self.counted = counted = target != self.ignore_index
            self.target = labels = np.where(counted, target, 0)
            self.scale = np.where(counted, 1 if weight is None else weight[labels], 0).astype(z.dtype)
            log_p_label = shifted[np.arange(n), labels] - log_total[:, 0]
            unreduced = -self.scale * np.where(counted, log_p_label, 0)  # no 0 · −inf if ignored
            if smooth is not None:
                unreduced = (1 - eps) * unreduced + np.where(counted, smooth, 0)
            self.denominator = np.sum(self.scale)
        unreduced = unreduced.astype(z.dtype, copy=False)
        if self.reduction != "mean":
            return self._reduce(unreduced)
        if self.denominator == 0:
            return math.nan  # every row ignored: 0/0, as in PyTorch
        return divided_sum(unreduced, self.denominator)

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        p, target, eps = self.p, self.target, self.label_smoothing
        n, c = p.shape
        weight = _class_weights(self, c, p.dtype)
        if self.reduction == "mean":
            upstream = np.full(n, 1 / self.denominator if self.denominator != 0 else 0, p.dtype)
        else:
            upstream = np.broadcast_to(self._upstream(grad_output, (n,), p.dtype), (n,))
        if target.shape == p.shape:  # probabilities: Q = w ⊙ ((1 − ε) T + ε/C)
            q = target if not eps else (1 - eps) * target + eps / c
            q = q if weight is None else q * weight
            local = p * q.sum(axis=1, keepdims=True) - q  # p − T when w = 1 and the rows sum to 1
            local *= upstream[:, None]  # local is this call's own array
            return local
        # labels: Q_i = (1 − ε) w[y_i] e_y + (ε/C) w, 0 for an ignored row; the upstream factor folded in first,
        # so that the (N, C) array is written once: p_i Σ_c Q_ic g_i, then − Q_i g_i
        label_part = (1 - eps) * self.scale * upstream  # (N,)
        w_sum = c if weight is None else np.sum(weight)
        smooth_part = upstream * self.counted * (eps / c)  # (N,), 0 without smoothing; in p's dtype
        local = p * (label_part + w_sum * smooth_part)[:, None]
        if eps:
            local -= smooth_part[:, None] * (1 if weight is None else weight)
        local[np.arange(n), target] -= label_part
        return local

    def extra_repr(self) -> str:
        return _repr_options(self, weight=None, ignore_index=-100, label_smoothing=0.0)

    def local_derivatives(self) -> dict[str, str]:
        """The base's; with class weights, what ``"mean"`` divides by: the weights of the rows counted (labels)."""
        applied = super().local_derivatives()
        if self.reduction == "mean" and "∂L/∂ℓ" in applied and self.weight is not None:
            applied["∂L/∂ℓ"] = "1/Σ_i w[y_i], the rows counted (labels; 1/N for probabilities) (mean)"
        return applied


class MultiMarginLoss(Loss):
    r"""Multi-class hinge loss on scores ``x`` and labels ``y``:
    ``ℓ_i = Σ_{c ≠ y_i} w[y_i] max(0, margin − x[i, y_i] + x[i, c])^p / C``.

    Each class scored within ``margin`` of the label's score costs its gap
    ``h_ic = margin − x[i, y_i] + x[i, c]`` (squared for p = 2). ``w`` is the
    class weights (ones without ``weight``). ``"mean"`` divides by N (the
    weights do not enter it, as in PyTorch).

    Local derivative, from the cached ``h`` (clipped at 0) and labels:
    ``∂ℓ_i/∂x[i, c] = w[y_i] p h_ic^(p−1) [h_ic > 0] / C`` for c ≠ y_i, and
    ``∂ℓ_i/∂x[i, y_i] = −Σ_{c ≠ y_i}`` of those; times 1/N for ``"mean"``.

    Args:
        p: 1 (default) or 2.
        margin: the margin (default 1.0).
        weight: the class weights ``(C,)``, or ``None`` (all ones).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Shape:
        pred ``(N, C)`` scores; target ``(N,)`` integer labels in [0, C).

    Example:
        >>> loss_fn = MultiMarginLoss()
        >>> loss_fn(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))  # doctest: +ELLIPSIS
        0.325...
        >>> loss_fn.backward()
        array([[ 0.25,  0.25,  0.25, -0.75]])
    """

    target_kind = "labels"
    pred_name = "scores"
    local_derivative = {
        "∂ℓ_i/∂x[i, c]": "w[y_i] p h_ic^(p−1) [h_ic > 0] / C,  h_ic = margin − x[i, y_i] + x[i, c]  (c ≠ y_i)",
        "∂ℓ_i/∂x[i, y_i]": "−Σ_{c ≠ y_i} ∂ℓ_i/∂x[i, c]",
    }

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if not is_int(p) or p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p=1 and p=2 are supported, got {p!r}")
        self.p, self.margin = int(p), check_real("MultiMarginLoss", "margin", margin)
        self.weight = _weight_argument("MultiMarginLoss", weight)
        self.slope: NDArray[np.floating]  # cached ∂ℓ_i/∂x[i, c] for c ≠ y_i (0 at y_i), set by forward
        self.labels: NDArray[np.integer]

    def forward(self, pred: NDArray[Any], target: NDArray[Any]) -> float | NDArray[Any]:
        x, c, rows = pred, pred.shape[1], np.arange(pred.shape[0])
        weight = _class_weights(self, c, x.dtype)
        # the gap of each class, in halves (exact in binary) so that a gap below the float range, which max(h, 0)
        # makes 0 (a score of −1e308 beside the label's 1e308), cannot overflow; this call's own array
        half_gap = 0.5 * self.margin - 0.5 * x[rows, target][:, None] + 0.5 * x
        half_gap[rows, target] = 0  # the label's own class is not summed
        h = 2 * np.maximum(half_gap, 0)
        scale = (1 if weight is None else weight[target][:, None]) / c
        self.labels = target
        self.slope = (scale * (h > 0) if self.p == 1 else scale * 2 * h).astype(x.dtype, copy=False)
        return self._reduce(np.sum(scale * h**self.p, axis=1).astype(x.dtype, copy=False))

    def backward(self, grad_output: NDArray[Any] | None = None) -> NDArray[Any]:
        slope, labels = self.slope, self.labels
        upstream = self._upstream(grad_output, labels.shape, slope.dtype)
        grad = slope * (upstream[:, None] if self.reduction == "none" else upstream)
        grad[np.arange(len(labels)), labels] = -np.sum(grad, axis=1)
        return grad

    def extra_repr(self) -> str:
        return _repr_options(self, p=1, margin=1.0, weight=None)
