"""``gradcheck``: a layer's analytic gradients against finite differences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._rng import RngLike, make_rng
from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.snapshot import Snapshot, preserved
from .finite_differences import partial_derivatives


@dataclass
class TensorCheck:
    """The comparison for one tensor (the input or one parameter).

    ``max_rel_error`` is the largest ``|a − n| / max(|a|, |n|, floor)`` over the
    elements, with ``a`` analytic, ``n`` numeric, and ``floor`` the larger of
    one thousandth of the tensor's largest gradient and ``1e-5 · S``, S the
    size of the checked scalar (``Σ |output ⊙ G|``, or ``|loss|``). Elements
    near zero are so compared on the tensor's own scale, and a tensor whose
    whole gradient is rounding noise (an input of zeros) on the scalar's, not
    by amplified finite-difference noise.
    ``index``, ``analytic`` and ``numeric`` describe that worst element.
    ``problem`` holds a message when the gradient could not be compared
    (wrong shape, non-finite values)."""

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    index: tuple[int, ...] = ()
    analytic: float = float("nan")
    numeric: float = float("nan")
    problem: str | None = None
    tolerance: float = 1e-6

    @property
    def passed(self) -> bool:
        return self.problem is None and self.max_rel_error <= self.tolerance


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` found: truthy when every tensor passed.

    Attributes:
        checks: one :class:`TensorCheck` per tensor, the input first.
        tolerance: the largest relative error allowed.
    """

    checks: list[TensorCheck] = field(default_factory=list)
    tolerance: float = 1e-6

    def __bool__(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def passed(self) -> bool:
        return bool(self)

    @property
    def worst(self) -> TensorCheck:
        """The check with a problem, or else with the largest relative error."""
        return max(self.checks, key=lambda c: (c.problem is not None, c.max_rel_error))

    @property
    def max_rel_error(self) -> float:
        return self.worst.max_rel_error

    def __str__(self) -> str:
        worst = self.worst
        verdict = "passed" if self else "FAILED"
        where = f"{worst.name}{list(worst.index)}" if worst.index else worst.name
        lines = [
            f"gradcheck {verdict}: worst relative error {worst.max_rel_error:.3g} "
            f"(tolerance {self.tolerance:.0e}) at {where}",
            f"  {'tensor':<16} {'shape':<14} {'rel. error':>10}  {'worst at':<12} {'analytic':>14} {'numeric':>14}",
        ]
        for c in self.checks:
            if c.problem is not None:
                lines.append(f"  {c.name:<16} {c.shape!s:<14} {'':>10}  {c.problem}")
                continue
            mark = "" if c.passed else "   <-- wrong"
            lines.append(
                f"  {c.name:<16} {c.shape!s:<14} {c.max_rel_error:>10.2e}  {list(c.index)!s:<12} "
                f"{c.analytic:>14.6e} {c.numeric:>14.6e}{mark}"
            )
        return "\n".join(lines)

    __repr__ = __str__


def _require_float64(name: str, array: NDArray[Any]) -> None:
    if array.dtype != np.float64:
        raise TypeError(
            f"gradcheck: {name} has dtype {array.dtype}; finite differences need float64 "
            "(build the layer with dtype=np.float64 and pass float64 input)"
        )


def _compare(name: str, analytic: Any, numeric: NDArray[np.float64], tolerance: float, scale: float) -> TensorCheck:
    shape = numeric.shape
    if not isinstance(analytic, np.ndarray) or analytic.shape != shape:
        got = analytic.shape if isinstance(analytic, np.ndarray) else type(analytic).__name__
        return TensorCheck(
            name, shape, float("inf"), problem=f"gradient has shape {got}, expected {shape}", tolerance=tolerance
        )
    if not np.all(np.isfinite(analytic)):
        return TensorCheck(name, shape, float("inf"), problem="analytic gradient is not finite", tolerance=tolerance)
    if numeric.size == 0:
        return TensorCheck(name, shape, 0.0, tolerance=tolerance)
    floor = max(1e-3 * max(np.abs(analytic).max(), np.abs(numeric).max()), 1e-5 * scale, 1e-300)
    rel = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    worst = np.unravel_index(int(np.argmax(rel)), shape)
    return TensorCheck(
        name,
        shape,
        float(rel[worst]),
        tuple(int(i) for i in worst),
        float(analytic[worst]),
        float(numeric[worst]),
        tolerance=tolerance,
    )


def scalar_objective(
    layer: Layer | Loss,
    x: NDArray[np.float64],
    target: ArrayLike | None = None,
    *,
    loss_fn: Loss | None = None,
    upstream: NDArray[np.float64] | None = None,
    reset: Callable[[], None] | None = None,
) -> Callable[[], float]:
    """The scalar whose gradient the backward pass computes, as a function of
    the current values of ``x`` and of the parameters. The value is
    ``loss(x, target)`` for a loss, ``loss_fn(layer(x), target)`` with a loss,
    else ``layer(x)``; when it is an array (a layer, or a loss with
    ``reduction="none"``) the scalar is ``Σ value ⊙ upstream``. ``reset()``
    runs before each evaluation (default: put back the random states the
    layer has now, so every evaluation draws the same dropout mask)."""
    reset = Snapshot(layer).restore_randomness if reset is None else reset

    def f() -> float:
        reset()
        if isinstance(layer, Loss):
            value = layer(x, target)
        elif loss_fn is not None:
            value = loss_fn(layer(x), target)
        else:
            value = layer(x)
        return float(value) if upstream is None else float(np.sum(np.asarray(value) * upstream))

    return f


def objective_scale(value: Any, upstream: NDArray[np.float64] | None) -> float:
    """The size S of the checked scalar, ``Σ |value ⊙ upstream|`` or ``|value|``:
    rounding noise in finite differences is proportional to it."""
    if upstream is None:
        return abs(float(value))
    return float(np.sum(np.abs(np.asarray(value) * upstream)))


def run_backward(
    layer: Layer | Loss, *, loss_fn: Loss | None = None, upstream: NDArray[np.float64] | None = None
) -> Any:
    """The backward pass that matches :func:`scalar_objective` (after it ran)."""
    start = () if upstream is None else (np.array(upstream, copy=True),)
    if isinstance(layer, Loss):
        return layer.backward(*start)
    if loss_fn is not None:
        return layer.backward(loss_fn.backward(*start))
    return layer.backward(*start)


def gradcheck(
    layer: Layer | Loss,
    x: ArrayLike,
    target: ArrayLike | None = None,
    *,
    loss_fn: Loss | None = None,
    grad_output: ArrayLike | None = None,
    rng: RngLike = 0,
    step: float = 1e-4,
    tolerance: float = 1e-6,
    check_input: bool = True,
) -> GradcheckResult:
    r"""Compare ``layer``'s analytic gradients with central finite differences.

    Three forms:

    - ``gradcheck(layer, x)``: the scalar checked is ``f(x) = Σ layer(x) ⊙ G``
      with a random upstream gradient ``G`` (standard normal, drawn from
      ``rng``; or ``grad_output``), so ``layer.backward(G)`` must equal ∂f/∂x.
      A random ``G`` (not all ones) is what exposes errors that cancel in a
      plain sum, such as a softmax treated elementwise.
    - ``gradcheck(model, x, target, loss_fn=loss)``: ``f = loss(model(x), target)``
      and the chain starts at ``loss.backward()``.
    - ``gradcheck(loss, pred, target)``: a loss on its own; ``f = loss(pred, target)``.

    Where the loss returns an array (``reduction="none"``) the scalar is its
    sum weighted by a random upstream gradient, as for a layer.

    Each element of the input (unless ``check_input=False``) and of every
    parameter is moved by ±h and ±2h, ``h = step · max(1, |v|)``, and the
    five-point central difference is compared with the analytic gradient.
    The check leaves no trace (see :func:`~minnet.nn.snapshot.preserved`):
    parameters (bitwise), gradients, buffers (a BatchNorm's running
    statistics, even in training mode), random generators and modes are as
    they were; the caches hold the pass on ``x``. Random generators held by
    the layers (a dropout mask's) and numpy's global random state are reset
    before every forward pass, so all of them see the same randomness.

    Finite differences need a smooth function: an input within 2h of a kink
    (ReLU at 0, a Huber loss at ±δ) can fail a correct layer; draw inputs away
    from kinks (random normal inputs almost never hit one). The input is copied to float64; the parameters
    must be float64 (a TypeError says so otherwise).

    Returns:
        a :class:`GradcheckResult`, truthy when every relative error is at most
        ``tolerance``; ``str(result)`` is a table naming the worst element.

    Example:
        >>> from minnet import Linear
        >>> bool(gradcheck(Linear(3, 2, rng=0), np.ones((4, 3))))
        True
    """
    point: NDArray[np.float64] = np.array(x, dtype=np.float64, copy=True)  # a private copy, perturbed in place
    params = list(layer.named_parameters())
    for name, param in params:
        _require_float64(f"parameter {name!r}", param.data)
    is_loss = isinstance(layer, Loss)
    if (is_loss or loss_fn is not None) and target is None:
        raise ValueError("gradcheck: a loss needs a target")
    if not check_input and not params:
        raise ValueError(f"gradcheck: nothing to check: {type(layer).__name__} has no parameters and check_input=False")
    with preserved(layer) as snapshot:
        if is_loss:
            value = layer(point, target)
        elif loss_fn is not None:
            value = loss_fn(layer(point), target)
        else:
            value = layer(point)
        upstream: NDArray[np.float64] | None = None
        if isinstance(value, np.ndarray):  # a layer's output, or a loss with reduction="none"
            output_shape = value.shape
            upstream = np.asarray(make_rng(rng).standard_normal(output_shape), dtype=np.float64)
            if grad_output is not None:
                upstream = np.array(grad_output, dtype=np.float64)
            if upstream.shape != output_shape:
                raise ValueError(f"gradcheck: grad_output has shape {upstream.shape}, the output {output_shape}")
        f = scalar_objective(
            layer, point, target, loss_fn=loss_fn, upstream=upstream, reset=snapshot.restore_randomness
        )
        scale = objective_scale(value, upstream)
        for _, param in params:
            param.grad[...] = 0
        f()
        grad_input = run_backward(layer, loss_fn=loss_fn, upstream=upstream)
        analytic_params = [param.grad.copy() for _, param in params]

        result = GradcheckResult(tolerance=tolerance)
        if check_input:
            numeric = partial_derivatives(f, point, step)
            result.checks.append(_compare("input", grad_input, numeric, tolerance, scale))
        for (name, param), analytic in zip(params, analytic_params, strict=True):
            numeric = partial_derivatives(f, param.data, step)
            result.checks.append(_compare(name, analytic, numeric, tolerance, scale))
        f()  # leave the caches of the unperturbed input behind
    return result
