"""``gradcheck``: a layer's analytic gradients against finite differences."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_real, describe
from .._rng import RngLike, make_rng
from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.snapshot import Snapshot, preserved
from .finite_differences import partial_derivatives
from .nesting import Misfit, aligned, is_nested, leaf_names, leaves, map_leaves, rebuild
from .values import VALUES, draw_values, has_values


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
    (wrong shape, non-finite values). ``values`` says at which parameter
    values the check ran: ``"initial"`` (as built) or ``"drawn"`` (see
    :func:`~minnet.testing.values.draw_values`). ``cause`` is the likely cause
    of a failure, where the pattern of the errors suggests one (a wrong sign,
    a factor of N, a gradient never added)."""

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    index: tuple[int, ...] = ()
    analytic: float = float("nan")
    numeric: float = float("nan")
    problem: str | None = None
    tolerance: float = 1e-6
    values: str = "initial"
    cause: str = ""

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
        if worst.values == "drawn":
            where += " (drawn parameter values)"
        lines = [
            f"gradcheck {verdict}: worst relative error {worst.max_rel_error:.3g} "
            f"(tolerance {self.tolerance:.0e}) at {where}",
            f"  {'tensor':<16} {'values':<8} {'shape':<14} {'rel. error':>10}  {'worst at':<12} "
            f"{'analytic':>14} {'numeric':>14}",
        ]
        for c in self.checks:
            if c.problem is not None:
                lines.append(f"  {c.name:<16} {c.values:<8} {c.shape!s:<14} {'':>10}  {c.problem}")
                continue
            mark = "" if c.passed else "   <-- wrong"
            lines.append(
                f"  {c.name:<16} {c.values:<8} {c.shape!s:<14} {c.max_rel_error:>10.2e}  {list(c.index)!s:<12} "
                f"{c.analytic:>14.6e} {c.numeric:>14.6e}{mark}"
            )
        for c in self.checks:
            if c.cause:
                lines.append(f"  likely cause ({c.name}, {c.values} values): {c.cause}")
        return "\n".join(lines)

    __repr__ = __str__


def _require_float64(name: str, array: NDArray[Any]) -> None:
    if array.dtype != np.float64:
        raise TypeError(
            f"gradcheck: {name} has dtype {array.dtype}; finite differences need float64 "
            "(build the layer with dtype=np.float64 and pass float64 input)"
        )


def likely_cause(analytic: NDArray[np.float64], numeric: NDArray[np.float64], batch_size: int | None = None) -> str:
    """What the pattern of a wrong gradient suggests, or ``""``: zero where it
    should not be, a gradient for what the output does not depend on,
    ``analytic = c · numeric`` for one constant c (a wrong sign, a factor of
    the batch size N, a factor of 2), or the right values in the wrong places
    (a transposed gradient)."""
    size_a, size_n = float(np.abs(analytic).max(initial=0.0)), float(np.abs(numeric).max(initial=0.0))
    if size_a == 0.0 and size_n > 0.0:
        return "the gradient is zero everywhere: backward never adds into it (or adds into a copy)"
    if size_n <= 1e-9 * size_a:
        return "the output does not depend on it, yet backward gives it a gradient"
    c = float(np.sum(analytic * numeric) / np.sum(numeric * numeric))
    if np.abs(analytic - c * numeric).max() > 1e-4 * size_a:
        if analytic.ndim and np.allclose(np.sort(analytic, axis=None), np.sort(numeric, axis=None), rtol=1e-4):
            return "the right values in the wrong places: a transposed or wrongly reshaped gradient"
        return ""  # no single factor explains the errors
    n = batch_size or 0
    if abs(c + 1) < 1e-3:
        return "analytic = −numeric everywhere: the sign is wrong"
    if n > 1 and abs(c - n) < 1e-3 * n:
        return f"analytic = {n} × numeric with a batch of {n}: a 1/N forgotten, or a mean over the batch taken as a sum"
    if n > 1 and abs(c * n - 1) < 1e-3:
        return f"analytic = numeric / {n} with a batch of {n}: averaged over the batch where it should be summed"
    if abs(c - 2) < 2e-3 or abs(c - 0.5) < 5e-4:
        return f"analytic = {c:.4g} × numeric everywhere: a factor of 2 is wrong or missing"
    return f"analytic = {c:.4g} × numeric everywhere: a constant factor is wrong or missing"


def _compare(
    name: str,
    analytic: Any,
    numeric: NDArray[np.float64],
    tolerance: float,
    scale: float,
    *,
    values: str = "initial",
    batch_size: int | None = None,
) -> TensorCheck:
    shape = numeric.shape
    if analytic is None:  # an input's gradient left out: no gradient, which is right only where there is none
        analytic = np.zeros(shape)
        if np.abs(numeric).max(initial=0.0) > max(1e-5 * scale, 1e-300):
            return TensorCheck(
                name,
                shape,
                float("inf"),
                problem="backward returned None for it (no gradient), but the output depends on it",
                tolerance=tolerance,
                values=values,
            )
    if isinstance(analytic, Misfit):
        return TensorCheck(name, shape, float("inf"), problem=analytic.problem, tolerance=tolerance, values=values)
    if not isinstance(analytic, np.ndarray) or analytic.shape != shape:
        got = analytic.shape if isinstance(analytic, np.ndarray) else type(analytic).__name__
        return TensorCheck(
            name,
            shape,
            float("inf"),
            problem=f"gradient has shape {got}, expected {shape}",
            tolerance=tolerance,
            values=values,
        )
    if not np.all(np.isfinite(analytic)):
        bad = np.unravel_index(int(np.argmax(~np.isfinite(analytic))), shape)
        return TensorCheck(
            name,
            shape,
            float("inf"),
            problem=f"analytic gradient is {analytic[bad]} at {list(map(int, bad))} (numeric {numeric[bad]:.6e})",
            tolerance=tolerance,
            values=values,
        )
    if numeric.size == 0:
        return TensorCheck(name, shape, 0.0, tolerance=tolerance, values=values)
    floor = max(1e-3 * max(np.abs(analytic).max(), np.abs(numeric).max()), 1e-5 * scale, 1e-300)
    rel = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    worst = np.unravel_index(int(np.argmax(rel)), shape)
    check = TensorCheck(
        name,
        shape,
        float(rel[worst]),
        tuple(int(i) for i in worst),
        float(analytic[worst]),
        float(numeric[worst]),
        tolerance=tolerance,
        values=values,
    )
    if not check.passed:
        check.cause = likely_cause(analytic, numeric, batch_size)
    return check


def _private_copy(x: ArrayLike, integer: bool) -> NDArray[Any]:
    """The check's own copy of the input, perturbed in place: float64, or integer data (indices) as it is."""
    return np.array(x, copy=True) if integer else np.array(x, dtype=np.float64, copy=True)


def _private_inputs(x: Any, integer: bool) -> Any:
    """The check's own copy of the input, or of each of several inputs (a tuple, :mod:`.nesting`): the first
    as :func:`_private_copy` makes it, the others float64 if they are float data, else as they are."""
    if not is_nested(x):
        return _private_copy(x, integer)
    items = leaves(x)
    copies = [_private_copy(items[0], integer)] + [
        None if item is None else np.array(item, dtype=np.float64 if item.dtype.kind == "f" else None, copy=True)
        for item in items[1:]
    ]
    return rebuild(x, iter(copies))


def call(layer: Layer | Loss, x: Any) -> Any:
    """``layer(x)``, or ``layer(*x)`` for several inputs."""
    return layer(*x) if is_nested(x) else layer(x)


def _evaluate(layer: Layer | Loss, x: Any, target: ArrayLike | None, loss_fn: Loss | None) -> Any:
    if isinstance(layer, Loss):
        return layer(x, target)
    if loss_fn is not None:
        return loss_fn(call(layer, x), target)
    return call(layer, x)


def _weighted_sum(value: Any, upstream: Any) -> float:
    """``Σ value ⊙ upstream`` over every array of a value (one array, or a nested tuple of outputs), an output
    whose upstream is ``None`` left out."""
    pairs = zip(leaves(value), leaves(upstream), strict=True)
    return sum((float(np.sum(np.asarray(v) * u)) for v, u in pairs if u is not None), 0.0)


def scalar_objective(
    layer: Layer | Loss,
    x: Any,
    target: ArrayLike | None = None,
    *,
    loss_fn: Loss | None = None,
    upstream: Any = None,
    reset: Callable[[], None] | None = None,
) -> Callable[[], float]:
    """The scalar whose gradient the backward pass computes, as a function of
    the current values of ``x`` (one input, or a tuple of several, see
    :func:`gradcheck`) and of the parameters. The value is
    ``loss(x, target)`` for a loss, ``loss_fn(layer(x), target)`` with a loss,
    else ``layer(x)``; when it is an array (a layer, or a loss with
    ``reduction="none"``) the scalar is ``Σ value ⊙ upstream``, and for a
    tuple of outputs the sum of that over the outputs (``upstream`` a tuple in
    the same nesting, ``None`` for an output left out). ``reset()``
    runs before each evaluation (default: put back the random states the
    layer has now, so every evaluation draws the same dropout mask)."""
    reset = Snapshot(layer).restore_randomness if reset is None else reset

    def f() -> float:
        reset()
        value = _evaluate(layer, x, target, loss_fn)
        return float(value) if upstream is None else _weighted_sum(value, upstream)

    return f


def objective_scale(value: Any, upstream: Any) -> float:
    """The size S of the checked scalar, ``Σ |value ⊙ upstream|`` (over every output) or ``|value|``:
    rounding noise in finite differences is proportional to it."""
    if upstream is None:
        return abs(float(value))
    pairs = zip(leaves(value), leaves(upstream), strict=True)
    return sum((float(np.sum(np.abs(np.asarray(v) * u))) for v, u in pairs if u is not None), 0.0)


def run_backward(layer: Layer | Loss, *, loss_fn: Loss | None = None, upstream: Any = None) -> Any:
    """The backward pass that matches :func:`scalar_objective` (after it ran); the upstream gradient is copied."""
    start = () if upstream is None else (map_leaves(lambda u: None if u is None else np.array(u, copy=True), upstream),)
    if isinstance(layer, Loss):
        return layer.backward(*start)
    if loss_fn is not None:
        return layer.backward(loss_fn.backward(*start))
    return layer.backward(*start)


def draw_upstream(value: Any, generator: np.random.Generator, grad_output: Any = None) -> Any:
    """The upstream gradient G of the checked scalar ``Σ output ⊙ G`` for an output ``value`` that is an array
    or a nested tuple of them (``None`` for a float: a loss's value is the scalar itself): standard normal of
    each output's shape, or ``grad_output`` (``None`` in it: that output left out) after a check of its shapes."""
    if not isinstance(value, np.ndarray) and not is_nested(value):
        return None
    drawn = map_leaves(
        lambda v: None if v is None else np.asarray(generator.standard_normal(np.shape(v)), dtype=np.float64), value
    )
    if grad_output is None:
        return drawn
    # by the contract of several outputs: None for a whole output, or one array for the first output alone
    given = [
        None if g is None else g if isinstance(g, Misfit) else np.array(g, float) for g in aligned(value, grad_output)
    ]
    for g, v in zip(given, leaves(value), strict=True):
        if isinstance(g, Misfit):
            raise ValueError(f"gradcheck: grad_output does not nest as the output does: {g.problem}")
        if g is not None and g.shape != np.shape(v):
            raise ValueError(f"gradcheck: grad_output has shape {g.shape}, the output {np.shape(v)}")
    return rebuild(value, iter(given))


def has_integer_input(layer: Layer | Loss, x: ArrayLike) -> bool:
    """Whether ``x`` is data without a gradient for ``layer``: any input of a layer
    with ``input_kind = "integer"`` (an embedding's indices), and integer or bool
    data given to a model that holds such a layer. Integer data given to a
    float layer is not: the layer converts it to float, as gradcheck does."""
    if getattr(layer, "input_kind", "float") == "integer":
        return True
    if is_nested(x):  # several inputs: the first is the one a layer converts
        x = leaves(x)[0]
    if np.asarray(x).dtype.kind not in "iub":
        return False
    return any(getattr(module, "input_kind", "float") == "integer" for _, module in layer.named_layers())


def input_points(x: Any, integer: bool) -> list[tuple[str, NDArray[Any]]]:
    """``(name, array)`` for each input array whose gradient is checked: ``("input", x)`` for one input, for
    several (a tuple) each float array by its place (``input[0]``, ``input[1][0]``...); none for integer data."""
    return [
        (name, array)
        for i, (name, array) in enumerate(zip(leaf_names(x, "input"), leaves(x), strict=True))
        if array is not None and array.dtype.kind == "f" and not (i == 0 and integer)
    ]


def _pairs(
    layer: Layer | Loss,
    f: Callable[[], float],
    point: Any,
    *,
    loss_fn: Loss | None,
    upstream: Any,
    step: float,
    check_input: bool,
    integer: bool,
) -> list[tuple[str, Any, NDArray[np.float64]]]:
    params = list(layer.named_parameters())
    for _, param in params:
        param.grad[...] = 0
    f()
    grad_input = run_backward(layer, loss_fn=loss_fn, upstream=upstream)
    pairs = [(name, param.grad.copy(), param.data) for name, param in params]
    if check_input:
        returned = aligned(point, grad_input) if is_nested(point) else [grad_input]
        by_name = dict(zip(leaf_names(point, "input"), returned, strict=True))
        pairs[:0] = [(name, by_name[name], array) for name, array in input_points(point, integer)]
    return [(name, analytic, partial_derivatives(f, array, step)) for name, analytic, array in pairs]


def gradient_pairs(
    layer: Layer | Loss,
    x: Any,
    target: ArrayLike | None = None,
    *,
    loss_fn: Loss | None = None,
    grad_output: Any = None,
    step: float = 1e-4,
) -> list[tuple[str, Any, NDArray[np.float64]]]:
    """``(name, analytic, numeric)`` for the input and each parameter, at the layer's current values.

    The arrays behind :func:`gradcheck`, for a test that compares them its own
    way (``np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)``).
    The scalar is the one of :func:`gradcheck`; an output that is an array (or
    a tuple of them) needs ``grad_output``, the upstream gradient G of
    ``Σ output ⊙ G``. An integer input (see :func:`has_integer_input`) has no
    pair; several inputs (a tuple) have one pair each, named as in :func:`gradcheck`.
    Leaves no trace, as :func:`gradcheck`.
    """
    integer = has_integer_input(layer, x)
    point = _private_inputs(x, integer)
    upstream = (
        None if grad_output is None else map_leaves(lambda g: None if g is None else np.array(g, float), grad_output)
    )
    with preserved(layer) as snapshot:
        f = scalar_objective(
            layer, point, target, loss_fn=loss_fn, upstream=upstream, reset=snapshot.restore_randomness
        )
        return _pairs(
            layer, f, point, loss_fn=loss_fn, upstream=upstream, step=step, check_input=not integer, integer=integer
        )


#: The likely cause of a gradient right at the initial values and wrong at drawn ones.
HIDDEN_BY_INITIAL_VALUES = (
    "right at the initial parameter values, wrong at drawn ones: backward leaves out a parameter whose "
    "initial value hides it (a factor that starts at 1, a term that starts at 0), or mixes up two parameters "
    "that start equal"
)


def hidden_by_initial_values(cause: str) -> str:
    """The cause of a check that passed at the initial values and failed at drawn
    ones, with what the errors show besides (``cause``), if anything."""
    return HIDDEN_BY_INITIAL_VALUES + (f"; the errors also show: {cause}" if cause else "")


def repeated_index_cause(analytic: NDArray[Any], numeric: NDArray[Any], indices: NDArray[Any], tolerance: float) -> str:
    """The cause of an embedding weight gradient wrong on rows that ``indices``
    repeats and right on every row it uses once, or ``""`` (no such evidence:
    the indices must use some rows once)."""
    rows, counts = np.unique(indices, return_counts=True)
    if analytic.ndim == 0 or rows.size == 0 or rows.min() < 0 or rows.max() >= analytic.shape[0]:
        return ""
    scale = max(float(np.abs(numeric).max(initial=0.0)), 1e-300)
    error = np.abs(analytic - numeric).reshape(analytic.shape[0], -1).max(axis=1) > tolerance * scale
    repeated = np.zeros(analytic.shape[0], dtype=bool)
    repeated[rows[counts > 1]] = True
    once = rows[counts == 1]
    if not error.any() or (error & ~repeated).any() or once.size == 0 or error[once].any():
        return ""
    wrong = [int(row) for row in np.flatnonzero(error)]
    return (
        f"only rows the input repeats are wrong ({wrong}), the rows it uses once are right: W.grad[indices] "
        "+= g adds a repeated index once; np.add.at(W.grad, indices, g) adds it each time"
    )


def gradcheck(
    layer: Layer | Loss,
    x: Any,
    target: ArrayLike | None = None,
    *,
    loss_fn: Loss | None = None,
    grad_output: Any = None,
    rng: RngLike = 0,
    step: float = 1e-4,
    tolerance: float = 1e-6,
    check_input: bool | None = None,
    values: Iterable[str] = VALUES,
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

    **Several inputs or outputs** (docs/custom-layer.md): a tuple of arrays
    as ``x`` is several inputs, ``layer(*x)``, and may nest, as an LSTM's
    ``(x, (h_0, c_0))``; the gradient of each float array in it is checked,
    named by its place (``input[0]``, ``input[1][0]``, ...), against what
    backward returned for it (``None``, or a gradient left out, counts as
    zero). An output that is a tuple (``(output, (h_n, c_n))``) gets a random
    upstream gradient for each array, all passed to backward as a tuple in
    the output's nesting, and the scalar is the sum over the outputs;
    ``grad_output`` may give that tuple, ``None`` in it leaving an output out.
    (To pass one input that is a tuple of arrays, ``np.stack`` them.)

    Each element of the input (unless ``check_input=False``) and of every
    parameter is moved by ±h and ±2h, ``h = step · max(1, |v|)``, and the
    five-point central difference is compared with the analytic gradient.

    The check runs at the layer's own parameter values (``"initial"``) and
    again at drawn ones (``"drawn"``, :func:`~minnet.testing.values.draw_values`:
    every parameter and floating buffer redrawn with magnitudes in
    [0.5, 0.8] ∪ [1.25, 2] and both signs), because a parameter that starts at
    1 or 0 hides a backward that forgets it. ``values=("initial",)`` checks
    only the first; a layer without parameters or buffers has only the first.

    The input of a layer with ``input_kind = "integer"`` (an embedding's
    indices), or integer data given to a model that holds one, is passed as it
    is and has no gradient: only the parameters are checked. Integer data
    given to any other layer is converted to float64, as the layer would
    convert it, and checked as a float input.

    The check leaves no trace (see :func:`~minnet.nn.snapshot.preserved`):
    parameters (bitwise), gradients, buffers (a BatchNorm's running
    statistics, even in training mode), random generators and modes are as
    they were; the layer's ``backward`` is refused until its next forward.
    Random generators held by the layers (a dropout mask's) and numpy's global
    random state are reset before every forward pass, so all of them see the
    same randomness.

    Finite differences need a smooth function: an input within 2h of a kink
    (ReLU at 0, a Huber loss at ±δ) can fail a correct layer; draw inputs away
    from kinks (random normal inputs almost never hit one). A float input is
    copied to float64; the parameters must be float64 (a TypeError says so otherwise).

    Returns:
        a :class:`GradcheckResult`, truthy when every relative error is at most
        ``tolerance``; ``str(result)`` is a table naming the worst element, with
        a likely cause under it where the errors suggest one.

    Example:
        >>> from minnet import Linear, LSTM
        >>> bool(gradcheck(Linear(3, 2, rng=0), np.ones((4, 3))))
        True
        >>> rng = np.random.default_rng(0)
        >>> x, h0, c0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((1, 2, 4)), rng.standard_normal((1, 2, 4))
        >>> result = gradcheck(LSTM(3, 4, rng=0), (x, (h0, c0)))
        >>> bool(result), [check.name for check in result.checks][:3]
        (True, ['input[0]', 'input[1][0]', 'input[1][1]'])
    """
    if not isinstance(layer, (Layer, Loss)):
        raise TypeError(f"gradcheck: layer must be a minnet Layer or Loss, got {describe(layer)}")
    step = check_real("gradcheck", "step", step, 0.0, low_open=True)
    tolerance = check_real("gradcheck", "tolerance", tolerance, 0.0, low_open=True)
    names = list(values) if isinstance(values, Iterable) and not isinstance(values, str) else None
    if names is None or not all(isinstance(v, str) for v in names):
        raise TypeError(f"gradcheck: values must be a list naming some of {VALUES}, got {describe(values)}")
    settings = list(dict.fromkeys(names))
    if not settings or set(settings) - set(VALUES):
        raise ValueError(f"gradcheck: values must name some of {VALUES}, got {values!r}")
    integer = has_integer_input(layer, x)
    first = leaves(x)[0] if is_nested(x) else x
    if integer and check_input and not is_nested(x):
        raise ValueError(
            f"gradcheck: the input of {type(layer).__name__} is integer data (dtype {np.asarray(first).dtype}), "
            "which has no gradient; leave check_input unset"
        )
    point = _private_inputs(x, integer)
    check_input = bool(input_points(point, integer)) if check_input is None else check_input
    params = list(layer.named_parameters())
    for name, param in params:
        _require_float64(f"parameter {name!r}", param.data)
    is_loss = isinstance(layer, Loss)
    if (is_loss or loss_fn is not None) and target is None:
        raise ValueError("gradcheck: a loss needs a target")
    if not check_input and not params:
        why = "its input is integer data" if integer else "check_input=False"
        raise ValueError(f"gradcheck: nothing to check: {type(layer).__name__} has no parameters and {why}")
    generator = make_rng(rng, "gradcheck")
    first_point = leaves(point)[0]
    batch_size = first_point.shape[0] if first_point.ndim else None
    result = GradcheckResult(tolerance=tolerance)
    with preserved(layer) as snapshot:
        value = _evaluate(layer, point, target, loss_fn)
        # a layer's output (one array or a tuple of them), or a loss with reduction="none"
        upstream = draw_upstream(value, generator, grad_output)
        f = scalar_objective(
            layer, point, target, loss_fn=loss_fn, upstream=upstream, reset=snapshot.restore_randomness
        )
        for setting in settings:
            if setting == "drawn":
                if not has_values(layer):
                    continue
                draw_values(layer, generator)
                snapshot.restore_randomness()
                value = _evaluate(layer, point, target, loss_fn)
            scale = objective_scale(value, upstream)
            pairs = _pairs(
                layer,
                f,
                point,
                loss_fn=loss_fn,
                upstream=upstream,
                step=step,
                check_input=check_input,
                integer=integer,
            )
            for name, analytic, numeric in pairs:
                check = _compare(name, analytic, numeric, tolerance, scale, values=setting, batch_size=batch_size)
                if integer and not check.passed and check.problem is None and not check.cause:
                    check.cause = repeated_index_cause(analytic, numeric, first_point, tolerance)
                result.checks.append(check)
    passed_initially = {c.name for c in result.checks if c.values == "initial" and c.passed}
    for check in result.checks:
        if check.values == "drawn" and not check.passed and check.problem is None and check.name in passed_initially:
            check.cause = hidden_by_initial_values(check.cause)
    return result
