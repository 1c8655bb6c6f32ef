"""check_layer and check_loss: every check a new layer or loss should pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._rng import make_rng
from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.module import Module
from .finite_differences import five_point_derivative
from .gradient_check import gradcheck, objective_scale, run_backward, scalar_objective

Array = NDArray[np.float64]
InputMaker = Callable[[np.random.Generator, tuple[int, ...]], Any]

#: The checks, in the order they run, with what each one proves.
CHECKS = {
    "backward_before_forward": "backward on a fresh layer raises instead of using a missing cache",
    "forward": "forward runs on a float64 input (and a loss returns a float, or an array for reduction='none')",
    "input_unchanged": "forward and backward leave the input, the target and the given gradient bitwise unchanged",
    "gradient_shapes": "the input gradient and every .grad have the shape and dtype of what they differentiate",
    "repeat_backward": "two backwards from the same cache return bitwise equal input gradients",
    "accumulation": "backward adds into .grad (+=): a second backward adds exactly as much again",
    "input_gradient": "the input gradient equals central finite differences",
    "parameter_gradient": "each parameter's gradient equals central finite differences",
    "joint_gradient": "moving the input and all parameters together changes the output as the gradients predict",
}


@dataclass
class Check:
    """One check in one setting: ``mode`` ("train"/"eval") and ``batch_size``.

    For gradient checks, ``tensor`` names the input or parameter, and
    ``index``, ``analytic``, ``numeric`` and ``rel_error`` describe its worst
    element."""

    name: str
    passed: bool
    mode: str
    batch_size: int
    detail: str = ""
    tensor: str = ""
    index: tuple[int, ...] = ()
    analytic: float = float("nan")
    numeric: float = float("nan")
    rel_error: float = float("nan")

    def __str__(self) -> str:
        where = f"{self.mode}, N={self.batch_size}"
        text = f"[{'ok' if self.passed else 'FAILED'}] {self.name} ({where})"
        if self.tensor:
            at = f"{self.tensor}{list(self.index)}" if self.index else self.tensor
            text += f" {at}: analytic {self.analytic:.6e}, numeric {self.numeric:.6e}, rel. error {self.rel_error:.2e}"
        if self.detail:
            text += f": {self.detail}"
        return text


@dataclass
class CheckReport:
    """All the checks run on one layer or loss; truthy when every one passed.

    ``str(report)`` (and ``repr``, so ``assert check_layer(...)`` shows it on
    failure) lists the failed checks first, each with the worst element's index,
    its analytic and numeric values and the relative error."""

    subject: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when checks ran and every one passed (an empty report is false)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    @property
    def failed_names(self) -> list[str]:
        """The names of the failed checks, each once, in the order they ran."""
        return list(dict.fromkeys(check.name for check in self.failed))

    def __str__(self) -> str:
        passed = sum(check.passed for check in self.checks)
        name = self.subject.split("(")[0]
        if self:
            lines = [f"{name}: all {passed} checks passed"]
        else:  # the first line says what failed first: a truncated display still shows it
            lines = [
                f"{name}: FAILED {', '.join(self.failed_names)}; first: {self.failed[0]}",
                f"  {passed}/{len(self.checks)} checks passed for {self.subject}",
            ]
        lines += [f"  {check}" for check in self.failed]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__


def _build_float64(make: Callable[[], Layer | Loss]) -> Layer | Loss:
    """Call the factory and make every parameter and floating buffer float64."""
    layer = make()
    if not isinstance(layer, (Layer, Loss)):
        raise TypeError(f"the factory must return a minnet Layer or Loss, got {type(layer).__name__}")
    for param in layer.parameters():
        if param.data.dtype != np.float64:
            param.data = param.data.astype(np.float64)
            param.grad = np.zeros_like(param.data)
    for _, module in layer.named_layers():
        for name in module.buffer_names:
            value = getattr(module, name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                setattr(module, name, value.astype(np.float64))
    return layer


def _same_bytes(a: Any, b: Any) -> bool:
    return isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _joint_check(
    layer: Layer | Loss, x: Array, target: Any, upstream: Array | None, rng: np.random.Generator, step: float
) -> tuple[float, float, float]:
    """Directional derivative along one random direction of the input and all
    parameters together: analytic Σ ⟨gradient, direction⟩ against a five-point
    central difference of t ↦ f(x + t·v_x, θ + t·v_θ). Returns the analytic and
    numeric values and the scale of f."""
    params = list(layer.parameters())
    x_point = x.copy()
    f = scalar_objective(layer, x_point, target, upstream=upstream)
    for p in params:
        p.grad[...] = 0
    value = layer(x_point, target) if isinstance(layer, Loss) else layer(x_point)
    f()  # the analytic gradients below come from the same (frozen) randomness as every f() after
    grad_input = run_backward(layer, upstream=upstream)
    directions = [rng.standard_normal(x.shape)] + [rng.standard_normal(p.data.shape) for p in params]
    analytic = float(np.sum(grad_input * directions[0])) + sum(
        float(np.sum(p.grad * d)) for p, d in zip(params, directions[1:], strict=True)
    )
    points = [x_point] + [p.data for p in params]
    origins = [array.copy() for array in points]

    def f_at(t: float) -> float:
        for array, origin, direction in zip(points, origins, directions, strict=True):
            array[...] = origin + t * direction
        return f()

    numeric = five_point_derivative(f_at, step)
    for array, origin in zip(points, origins, strict=True):
        array[...] = origin
    return analytic, numeric, objective_scale(value, upstream)


def _check_one_setting(
    make: Callable[[], Layer | Loss],
    shape: tuple[int, ...],
    mode: str,
    rng: np.random.Generator,
    make_input: InputMaker | None,
    make_target: InputMaker | None,
    tolerance: float,
    only: set[str],
    report: CheckReport,
) -> None:
    n = shape[0]
    recorded: set[str] = set()

    def add(name: str, passed: bool, detail: str = "", **extra: Any) -> None:
        if name in only:
            recorded.add(name)
            report.checks.append(Check(name, bool(passed), mode, n, detail, **extra))

    def stop(reason: str) -> None:
        """Every requested check this setting did not reach fails, saying why."""
        for name in CHECKS:
            if name in only and name not in recorded:
                add(name, False, f"not reached: {reason}")

    layer = _build_float64(make)
    layer.train(mode == "train")
    is_loss = isinstance(layer, Loss)
    if not list(layer.parameters()):
        add("parameter_gradient", True, "the layer has no parameters")
        add("accumulation", True, "the layer has no parameters")
    x = np.asarray(make_input(rng, shape) if make_input else rng.standard_normal(shape), dtype=np.float64)
    target = make_target(rng, shape) if make_target else None
    if is_loss and target is None:
        target = rng.standard_normal(shape)
    x_before = x.copy()
    target_before = np.array(target, copy=True) if target is not None else None
    try:
        value = layer(x, target) if is_loss else layer(x)
    except Exception as error:  # the report says what went wrong instead of stopping
        add("forward", False, f"{type(error).__name__}: {error}")
        stop(f"forward raised {type(error).__name__}")
        return
    if is_loss:
        ok = isinstance(value, float) or (isinstance(value, np.ndarray) and value.shape[:1] == (n,))
        add(
            "forward",
            ok and bool(np.all(np.isfinite(value))),
            ""
            if ok
            else f"a loss returns a Python float (or an array for reduction='none'), got {type(value).__name__}",
        )
    else:
        add(
            "forward",
            isinstance(value, np.ndarray),
            "" if isinstance(value, np.ndarray) else "forward returned no array",
        )
    upstream = rng.standard_normal(np.shape(value)) if isinstance(value, np.ndarray) else None
    upstream_before = None if upstream is None else upstream.copy()

    fresh = _build_float64(make)
    fresh.train(mode == "train")
    try:
        start = () if is_loss and upstream is None else (np.zeros(np.shape(value)),)
        fresh.backward(*start)
        add("backward_before_forward", False, "backward before any forward returned instead of raising")
    except Exception:
        add("backward_before_forward", True)

    params = list(layer.named_parameters())
    planted = [rng.standard_normal(p.data.shape) for _, p in params]
    for (_, p), grad in zip(params, planted, strict=True):
        p.grad[...] = grad
    start = () if upstream is None else (upstream,)  # the caller's own array: it must come back unchanged
    try:
        grad_input = layer.backward(*start)
        after_one = [p.grad.copy() for _, p in params]
        grad_input_again = layer.backward(*start)
        after_two = [p.grad.copy() for _, p in params]
    except Exception as error:
        add("gradient_shapes", False, f"backward raised {type(error).__name__}: {error}")
        stop(f"backward raised {type(error).__name__}")
        return

    unchanged = _same_bytes(x, x_before) and (target is None or _same_bytes(np.asarray(target), target_before))
    unchanged_grad = upstream is None or _same_bytes(upstream, upstream_before)
    add(
        "input_unchanged",
        unchanged and unchanged_grad,
        ""
        if unchanged and unchanged_grad
        else ("the input or target was modified" if not unchanged else "backward modified the gradient it was given"),
    )

    problems = []
    if not isinstance(grad_input, np.ndarray) or grad_input.shape != x.shape or grad_input.dtype != x.dtype:
        got = (grad_input.shape, str(grad_input.dtype)) if isinstance(grad_input, np.ndarray) else type(grad_input)
        problems.append(f"input gradient is {got}, expected {(x.shape, str(x.dtype))}")
    for name, p in params:
        if not isinstance(p.grad, np.ndarray) or p.grad.shape != p.data.shape or p.grad.dtype != p.data.dtype:
            problems.append(f"{name}.grad does not match {name} in shape or dtype")
    add("gradient_shapes", not problems, "; ".join(problems))
    if problems:
        stop("the gradients have the wrong shape or dtype")
        return

    add(
        "repeat_backward",
        _same_bytes(grad_input_again, grad_input),
        "" if _same_bytes(grad_input_again, grad_input) else "a second backward returned a different input gradient",
    )
    for (name, _), grad, one, two in zip(params, planted, after_one, after_two, strict=True):
        first, second = one - grad, two - one
        ok = np.allclose(second, first, rtol=1e-12, atol=1e-12 * (1 + np.abs(one).max()))
        add(
            "accumulation",
            ok,
            ""
            if ok
            else f"{name}.grad did not grow by the same amount on each backward (overwritten instead of added?)",
            tensor=name,
        )

    f = scalar_objective(layer, x, target, upstream=upstream)
    if f() != f():
        report.notes.append(
            f"{mode} mode: two forward passes on the same input differ even after resetting the layer's random "
            "generators, so finite differences cannot agree; keep the randomness in a numpy Generator attribute "
            "(e.g. self.rng = np.random.default_rng(seed))"
        )
    result = gradcheck(layer, x, target, grad_output=upstream, tolerance=tolerance)
    for tensor in result.checks:
        name = "input_gradient" if tensor.name == "input" else "parameter_gradient"
        add(
            name,
            tensor.passed,
            tensor.problem or "",
            tensor=tensor.name,
            index=tensor.index,
            analytic=tensor.analytic,
            numeric=tensor.numeric,
            rel_error=tensor.max_rel_error,
        )

    if "joint_gradient" in only:
        analytic, numeric, scale = _joint_check(layer, x, target, upstream, rng, 1e-4)
        rel = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-5 * scale, 1e-300)
        add(
            "joint_gradient",
            rel <= tolerance,
            tensor="input and all parameters",
            analytic=analytic,
            numeric=numeric,
            rel_error=rel,
        )


def _run(
    make: Callable[[], Layer | Loss],
    shape: Sequence[int],
    *,
    rng: Any,
    batch_sizes: Iterable[int] | None,
    modes: Iterable[str],
    tolerance: float,
    make_input: InputMaker | None,
    make_target: InputMaker | None,
    checks: Iterable[str] | None,
) -> CheckReport:
    if isinstance(make, Module) or not callable(make):
        raise TypeError(
            f"expected a factory that builds the layer (a class or a lambda), got {make!r}; "
            "check_layer builds a fresh layer for every setting"
        )
    shape = tuple(int(side) for side in shape)
    if len(shape) < 1:
        raise ValueError(f"the input shape needs a batch dimension first, got {shape}")
    only = set(CHECKS if checks is None else checks)
    unknown = only - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; the checks are {list(CHECKS)}")
    sizes = list(dict.fromkeys(batch_sizes if batch_sizes is not None else (shape[0], 1)))
    if batch_sizes is None and shape[0] == 1:
        sizes.append(3)
    report = CheckReport(subject=repr(_build_float64(make)))
    if len({*shape[1:], max(sizes)}) < len(shape):
        report.notes.append(f"input shape {shape} has equal sides: a transposed gradient could pass unnoticed")
    for name, p in _build_float64(make).named_parameters():
        if p.data.ndim >= 2 and len(set(p.data.shape)) < p.data.ndim:
            report.notes.append(
                f"parameter {name} has equal sides {p.data.shape}: a transposed gradient could pass unnoticed"
            )
    generator = make_rng(0 if rng is None else rng)
    for mode in modes:
        if mode not in ("train", "eval"):
            raise ValueError(f"modes must be 'train' and/or 'eval', got {mode!r}")
        for n in sizes:
            _check_one_setting(make, (n, *shape[1:]), mode, generator, make_input, make_target, tolerance, only, report)
    return report


def check_layer(
    make_layer: Callable[[], Layer],
    input_shape: Sequence[int],
    *,
    rng: int | np.random.Generator | None = None,
    batch_sizes: Iterable[int] | None = None,
    modes: Iterable[str] = ("train", "eval"),
    tolerance: float = 1e-6,
    make_input: InputMaker | None = None,
    checks: Iterable[str] | None = None,
) -> CheckReport:
    """Run every check a layer should pass and return a report (truthy when all passed).

    ``make_layer()`` builds a new layer (a class, a lambda); its parameters
    and buffers are made float64. For each mode ("train", "eval") and each
    batch size (``input_shape[0]`` and 1, or ``batch_sizes``) a float64 input
    (standard normal, or ``make_input(rng, shape)``) and a random upstream
    gradient are drawn, and the checks in :data:`CHECKS` run: backward before
    forward raises; input and gradient are left bitwise unchanged; gradient
    shapes and dtypes; two backwards are bitwise equal; ``.grad`` is added to,
    not overwritten; input and each parameter against five-point central
    differences, and input and all parameters together along one random
    direction. Random generators held by the layer (a dropout mask's) are
    reset before every forward pass, so finite differences see one mask.

    Args:
        make_layer: builds the layer.
        input_shape: ``(N, ...)``; give sides that differ from each other.
        rng: seed or Generator for the inputs (``None``: seed 0, reproducible).
        batch_sizes: the batch sizes to try (default ``(input_shape[0], 1)``).
        modes: the modes to check in.
        tolerance: the largest relative error allowed.
        make_input: ``make_input(rng, shape)`` returns the input.
        checks: run only these (names from :data:`CHECKS`).

    Example:
        >>> from minnet import Linear
        >>> report = check_layer(lambda: Linear(3, 2, rng=0), (4, 3))
        >>> bool(report), len(report.checks) > 10
        (True, True)
    """
    return _run(
        make_layer,
        input_shape,
        rng=rng,
        batch_sizes=batch_sizes,
        modes=modes,
        tolerance=tolerance,
        make_input=make_input,
        make_target=None,
        checks=checks,
    )


def check_loss(
    make_loss: Callable[[], Loss],
    pred_shape: Sequence[int],
    target_maker: InputMaker | None = None,
    *,
    rng: int | np.random.Generator | None = None,
    batch_sizes: Iterable[int] | None = None,
    modes: Iterable[str] = ("train", "eval"),
    tolerance: float = 1e-6,
    make_input: InputMaker | None = None,
    checks: Iterable[str] | None = None,
) -> CheckReport:
    """The checks of :func:`check_layer` for a loss: ``target_maker(rng, pred_shape)``
    returns a target for a prediction of that shape (default: standard normal of
    the same shape); ``make_input(rng, shape)`` the prediction (default
    standard normal). The forward check also asks that the loss return a Python
    float (an array for ``reduction="none"``, then checked with a random
    upstream gradient).

    Example:
        >>> from minnet import MSELoss
        >>> bool(check_loss(MSELoss, (5, 2)))
        True
    """
    return _run(
        make_loss,
        pred_shape,
        rng=rng,
        batch_sizes=batch_sizes,
        modes=modes,
        tolerance=tolerance,
        make_input=make_input,
        make_target=target_maker,
        checks=checks,
    )
