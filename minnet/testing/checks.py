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
from .gradient_check import (
    HIDDEN_BY_INITIAL_VALUES,
    gradcheck,
    has_integer_input,
    objective_scale,
    run_backward,
    scalar_objective,
)
from .values import VALUES, draw_values, drawn_magnitudes, has_values

Array = NDArray[np.float64]
InputMaker = Callable[[np.random.Generator, tuple[int, ...]], Any]

#: The checks, in the order they run, with what each one proves.
CHECKS = {
    "backward_before_forward": "backward on a fresh layer raises instead of using a missing cache",
    "forward": "forward runs on a float64 input (and a loss returns a float, or an array for reduction='none')",
    "input_unchanged": "forward and backward leave the input, the target and the given gradient unchanged: "
    "they are passed read-only, and compared bytewise after",
    "gradient_shapes": "the input gradient and every .grad have the shape and dtype of what they differentiate "
    "(an integer input: backward returns None)",
    "repeat_backward": "two backwards from the same cache return bitwise equal input gradients",
    "accumulation": "backward adds into .grad (+=): a second backward adds exactly as much again",
    "input_gradient": "the input gradient equals central finite differences",
    "parameter_gradient": "each parameter's gradient equals central finite differences",
    "joint_gradient": "moving the input and all parameters together changes the output as the gradients predict",
    "parameters_registered": "every float array attribute set in __init__ that the output depends on is a "
    "Parameter (it trains) or in buffer_names (it is saved)",
}

#: Where finite differences of a scalar S are compared, rounding noise is about 1e-5·S at the most.
_READ_ONLY = "read-only"


@dataclass
class Check:
    """One check in one setting: ``mode`` ("train"/"eval"), ``batch_size`` and
    ``values`` ("initial": the parameters as built; "drawn": redrawn, see
    :func:`~minnet.testing.values.draw_values`).

    For gradient checks, ``tensor`` names the input or parameter, and
    ``index``, ``analytic``, ``numeric`` and ``rel_error`` describe its worst
    element (``None`` where there is no such element). ``detail`` says what
    was expected, what came and the likely cause."""

    name: str
    passed: bool
    mode: str
    batch_size: int
    detail: str = ""
    tensor: str = ""
    index: tuple[int, ...] = ()
    analytic: float | None = None
    numeric: float | None = None
    rel_error: float | None = None
    values: str = "initial"

    @property
    def setting(self) -> str:
        """Where the check ran: mode, batch size and parameter values."""
        return f"{self.mode}, N={self.batch_size}, {self.values} parameter values"

    def __str__(self) -> str:
        text = f"[{'ok' if self.passed else 'FAILED'}] {self.name} ({self.setting})"
        if self.tensor:
            text += f" {self.tensor}{list(self.index)}" if self.index else f" {self.tensor}"
            numbers = [
                f"{label} {value:.6e}"
                for label, value in (("analytic", self.analytic), ("numeric", self.numeric))
                if value is not None
            ]
            if self.rel_error is not None:
                numbers.append(f"rel. error {self.rel_error:.2e}")
            if numbers:
                text += ": " + ", ".join(numbers)
        if self.detail:
            text += f"; {self.detail}" if self.tensor and self.analytic is not None else f": {self.detail}"
        return text


@dataclass
class CheckReport:
    """All the checks run on one layer or loss; truthy when every one passed.

    ``str(report)`` (and ``repr``, so ``assert check_layer(...)`` shows it on
    failure) lists the failed checks first, each with where it ran (mode,
    batch size, initial or drawn parameter values), the worst element's index,
    its analytic and numeric values, the relative error and a likely cause."""

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


def _read_only(array: Any) -> Any:
    """A read-only copy: a layer that writes into it raises instead of corrupting the caller's array."""
    if not isinstance(array, np.ndarray):
        return array
    copy = array.copy()
    copy.flags.writeable = False
    return copy


def _wrote_in_place(error: BaseException) -> bool:
    return isinstance(error, ValueError) and _READ_ONLY in str(error)


def _describe(error: BaseException) -> str:
    """``Type: message``, with the notes minnet adds (which child of a container raised)."""
    notes = "; ".join(getattr(error, "__notes__", []))
    return f"{type(error).__name__}: {error}" + (f" ({notes})" if notes else "")


def _worst(a: NDArray[Any], b: NDArray[Any]) -> tuple[int, ...]:
    difference = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(difference)), difference.shape))


def _joint_check(
    layer: Layer | Loss,
    x: NDArray[Any],
    target: Any,
    upstream: Array | None,
    rng: np.random.Generator,
    step: float,
    integer: bool,
) -> tuple[float, float, float]:
    """Directional derivative along one random direction of the input and all
    parameters together (the parameters alone for an integer input): analytic
    Σ ⟨gradient, direction⟩ against a five-point central difference of
    t ↦ f(x + t·v_x, θ + t·v_θ). Returns the analytic and numeric values and
    the scale of f."""
    params = list(layer.parameters())
    x_point = x.copy()
    f = scalar_objective(layer, x_point, target, upstream=upstream)
    for p in params:
        p.grad[...] = 0
    value = layer(x_point, target) if isinstance(layer, Loss) else layer(x_point)
    f()  # the analytic gradients below come from the same (frozen) randomness as every f() after
    grad_input = run_backward(layer, upstream=upstream)
    points = ([] if integer else [x_point]) + [p.data for p in params]
    gradients = ([] if integer else [grad_input]) + [p.grad for p in params]
    directions = [rng.standard_normal(array.shape) for array in points]
    analytic = sum(float(np.sum(g * d)) for g, d in zip(gradients, directions, strict=True))
    origins = [array.copy() for array in points]

    def f_at(t: float) -> float:
        for array, origin, direction in zip(points, origins, directions, strict=True):
            array[...] = origin + t * direction
        return f()

    numeric = five_point_derivative(f_at, step)
    for array, origin in zip(points, origins, strict=True):
        array[...] = origin
    return analytic, numeric, objective_scale(value, upstream)


def plain_array_attributes(layer: Module) -> list[tuple[str, str]]:
    """``(layer path, attribute)`` for each float ndarray attribute of each layer
    of the tree that is neither a Parameter's array nor in ``buffer_names``:
    what :func:`check_layer` tries, on a layer fresh from ``__init__``, in its
    ``parameters_registered`` check."""
    parameter_arrays = {id(p.data) for p in layer.parameters()}
    found = []
    for path, module in layer.named_layers():
        for name, value in vars(module).items():
            if name.startswith("_") or name in module.buffer_names:
                continue
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and id(value) not in parameter_arrays:
                found.append((path, name))
    return found


def _unregistered(
    layer: Layer | Loss, candidates: list[tuple[str, str]], f: Callable[[], float], rng: np.random.Generator
) -> list[str]:
    """The candidates the output depends on: changing the array's values changes f."""
    modules = dict(layer.named_layers())
    before = f()
    found = []
    for path, name in candidates:
        module = modules.get(path)
        array = getattr(module, name, None)
        if module is None or not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            continue
        moved = array + (0.5 + np.abs(array)) * drawn_magnitudes(rng, array.shape)
        object.__setattr__(module, name, moved.astype(array.dtype))
        try:
            after = f()
        except Exception:  # a value the layer cannot take is not evidence either way
            after = before
        finally:
            object.__setattr__(module, name, array)
        if not abs(after - before) <= 1e-9 * max(abs(before), abs(after)):
            where = f"{path}.{name}" if path else name
            found.append(
                f"{type(module).__name__}.{name} ('{where}', a float array of shape {array.shape} set in __init__) "
                "changes the output but is neither a Parameter nor in buffer_names: no optimizer sees it, so it "
                f"never trains, and save() leaves it out; make it self.{name} = minnet.Parameter(...) to train "
                f"it, or add '{name}' to buffer_names if it is state that is not trained"
            )
    f()
    return found


def _check_one_setting(
    make: Callable[[], Layer | Loss],
    shape: tuple[int, ...],
    mode: str,
    values: str,
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
            report.checks.append(Check(name, bool(passed), mode, n, detail, values=values, **extra))

    def stop(reason: str) -> None:
        """Every requested check this setting did not reach fails, saying why."""
        for name in CHECKS:
            if name in only and name not in recorded:
                add(name, False, f"not reached: {reason}")

    candidates = plain_array_attributes(_build_float64(make))  # as __init__ left them
    layer = _build_float64(make)
    layer.train(mode == "train")
    if values == "drawn":
        draw_values(layer, rng)
    is_loss = isinstance(layer, Loss)
    if not list(layer.parameters()):
        add("parameter_gradient", True, "the layer has no parameters")
        add("accumulation", True, "the layer has no parameters")
    if make_input is None and getattr(layer, "input_kind", "float") == "integer":
        add(
            "forward",
            False,
            f"{type(layer).__name__} takes integer indices (input_kind='integer'): pass make_input=lambda rng, "
            "shape: rng.integers(0, rows, shape), with repeated indices, to check it",
        )
        stop("no input for a layer of integer input")
        return
    x = np.asarray(make_input(rng, shape) if make_input else rng.standard_normal(shape))
    integer = has_integer_input(layer, x)
    if not integer:
        x = x.astype(np.float64)
    if integer:
        add("input_gradient", True, "an integer input has no gradient: the parameters are checked")
    target = make_target(rng, shape) if make_target else None
    if is_loss and target is None:
        target = rng.standard_normal(shape)
    x_before = x.copy()
    target_before = np.array(target, copy=True) if target is not None else None

    def run_forward(x_in: Any, target_in: Any) -> Any:
        return layer(x_in, target_in) if is_loss else layer(x_in)

    in_place = []
    try:
        try:
            value = run_forward(_read_only(x), _read_only(target))
        except Exception as error:
            if not _wrote_in_place(error):
                raise
            in_place.append(
                f"forward wrote into its {'prediction or target' if is_loss else 'input x'} in place "
                f"({_describe(error)}; the kit passes it read-only): build a new array instead"
            )
            value = run_forward(x, target)
    except Exception as error:  # the report says what went wrong instead of stopping
        add("forward", False, _describe(error))
        stop(f"forward raised {type(error).__name__}")
        return
    if is_loss:
        ok = isinstance(value, float) or (isinstance(value, np.ndarray) and value.shape[:1] == (n,))
        add(
            "forward",
            ok and bool(np.all(np.isfinite(value))),
            "" if ok else f"expected a Python float (or an array for reduction='none'), got {type(value).__name__}",
        )
    else:
        add(
            "forward",
            isinstance(value, np.ndarray),
            "" if isinstance(value, np.ndarray) else f"expected an ndarray from forward, got {type(value).__name__}",
        )
    upstream = rng.standard_normal(np.shape(value)) if isinstance(value, np.ndarray) else None
    upstream_before = None if upstream is None else upstream.copy()

    fresh = _build_float64(make)
    fresh.train(mode == "train")
    try:
        start = () if is_loss and upstream is None else (np.zeros(np.shape(value)),)
        fresh.backward(*start)
        add(
            "backward_before_forward",
            False,
            "expected an error from backward on a fresh layer, got a return: it computed with caches that "
            "no forward set",
        )
    except Exception:
        add("backward_before_forward", True)

    params = list(layer.named_parameters())
    planted = [rng.standard_normal(p.data.shape) for _, p in params]
    for (_, p), grad in zip(params, planted, strict=True):
        p.grad[...] = grad
    start = () if upstream is None else (upstream,)  # the caller's own array, whose bytes are compared after
    try:
        try:  # first with a read-only copy of grad_output: an in-place write raises
            grad_input = layer.backward(*(() if upstream is None else (_read_only(upstream),)))
        except Exception as error:
            if not _wrote_in_place(error):
                raise
            in_place.append(
                f"backward wrote into the grad_output it was given ({_describe(error)}; the kit passes it "
                "read-only): build a new array, e.g. grad_output * s instead of grad_output *= s"
            )
            for (_, p), grad in zip(params, planted, strict=True):
                p.grad[...] = grad
            grad_input = layer.backward(*(() if upstream is None else (upstream.copy(),)))
        after_one = [p.grad.copy() for _, p in params]
        grad_input_again = layer.backward(*start)
        after_two = [p.grad.copy() for _, p in params]
    except Exception as error:
        add("input_unchanged", not in_place, "; ".join(in_place))
        add("gradient_shapes", False, f"backward raised {_describe(error)}")
        stop(f"backward raised {type(error).__name__}")
        return

    if not _same_bytes(x, x_before):
        in_place.append(f"the {'prediction' if is_loss else 'input'} was modified at {list(_worst(x, x_before))}")
    if target is not None and not _same_bytes(np.asarray(target), target_before):
        in_place.append("the target was modified")
    named = any(problem.startswith("backward wrote") for problem in in_place)  # from the read-only copy
    if (
        upstream is not None
        and upstream_before is not None
        and not _same_bytes(upstream, upstream_before)
        and not named
    ):
        where = list(_worst(upstream, upstream_before))
        in_place.append(f"backward modified the grad_output it was given, at {where}: build a new array instead")
    add("input_unchanged", not in_place, "; ".join(in_place))

    problems = []
    if integer:
        if grad_input is not None and not (
            isinstance(grad_input, np.ndarray) and grad_input.shape == x.shape and grad_input.dtype.kind == "f"
        ):
            problems.append(f"expected None for an integer input, got {type(grad_input).__name__}")
    elif not isinstance(grad_input, np.ndarray) or grad_input.shape != x.shape or grad_input.dtype != x.dtype:
        got = (grad_input.shape, str(grad_input.dtype)) if isinstance(grad_input, np.ndarray) else type(grad_input)
        problems.append(f"expected an input gradient of {(x.shape, str(x.dtype))}, got {got}")
    for name, p in params:
        if not isinstance(p.grad, np.ndarray) or p.grad.shape != p.data.shape or p.grad.dtype != p.data.dtype:
            got = (p.grad.shape, str(p.grad.dtype)) if isinstance(p.grad, np.ndarray) else type(p.grad).__name__
            problems.append(f"expected {name}.grad of {(p.data.shape, str(p.data.dtype))}, got {got}")
    add(
        "gradient_shapes",
        not problems,
        "; ".join(problems) + ": a gradient has the shape and dtype of what it differentiates" if problems else "",
    )
    if problems:
        stop("the gradients have the wrong shape or dtype")
        return

    if grad_input is None or grad_input_again is None or _same_bytes(grad_input_again, grad_input):
        same = (grad_input is None and grad_input_again is None) or (
            grad_input is not None and grad_input_again is not None
        )
        add("repeat_backward", same, "" if same else "one backward returned None, the other an array")
    else:
        at = _worst(grad_input_again, grad_input)
        add(
            "repeat_backward",
            False,
            f"the second backward returned {grad_input_again[at]:.6e} at {list(at)}, the first "
            f"{grad_input[at]:.6e}: backward changed its own cache (an in-place update of a cached array?)",
        )
    for (name, _), grad, one, two in zip(params, planted, after_one, after_two, strict=True):
        first, second = one - grad, two - one
        ok = np.allclose(second, first, rtol=1e-12, atol=1e-12 * (1 + np.abs(one).max()))
        detail = ""
        if not ok:
            i = _worst(second, first)
            detail = (
                f"the first backward added {first[i]:.6e} at {list(i)}, the second {second[i]:.6e}; expected the "
                "same amount twice: backward assigns .grad (=) instead of adding to it (+=)?"
            )
        add("accumulation", ok, detail, tensor=name)

    f = scalar_objective(layer, x, target, upstream=upstream)
    if f() != f():
        report.notes.append(
            f"{mode} mode: two forward passes on the same input differ even after resetting the layer's random "
            "generators, so finite differences cannot agree; keep the randomness in a numpy Generator attribute "
            "(e.g. self.rng = np.random.default_rng(seed))"
        )
    if params or not integer:
        result = gradcheck(layer, x, target, grad_output=upstream, tolerance=tolerance, values=("initial",))
        for tensor in result.checks:
            detail = tensor.problem or (f"likely cause: {tensor.cause}" if tensor.cause else "")
            if not tensor.passed and not detail:
                detail = f"expected a relative error of at most {tolerance:.0e}"
                if integer and tensor.name != "input" and np.unique(x).size < x.size:
                    detail += (
                        "; likely cause: the input repeats an index, and W.grad[indices] += g adds a repeated "
                        "index once; np.add.at(W.grad, indices, g) adds it each time"
                    )
            finite = tensor.problem is None
            add(
                "input_gradient" if tensor.name == "input" else "parameter_gradient",
                tensor.passed,
                detail,
                tensor=tensor.name,
                index=tensor.index,
                analytic=tensor.analytic if finite else None,
                numeric=tensor.numeric if finite else None,
                rel_error=tensor.max_rel_error if finite else None,
            )

    if "joint_gradient" in only and (params or not integer):
        analytic, numeric, scale = _joint_check(layer, x, target, upstream, rng, 1e-4, integer)
        rel = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-5 * scale, 1e-300)
        add(
            "joint_gradient",
            rel <= tolerance,
            "" if rel <= tolerance else "the gradients together do not predict the change of the output",
            tensor="parameters" if integer else "input and all parameters",
            analytic=analytic,
            numeric=numeric,
            rel_error=rel,
        )
    elif integer:
        add("joint_gradient", True, "an integer input and no parameters: nothing to move")

    if "parameters_registered" in only:
        problems = _unregistered(layer, candidates, f, rng) if candidates else []
        add("parameters_registered", not problems, "; ".join(problems))


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
    values: Iterable[str],
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
    settings = list(dict.fromkeys(values))
    if not settings or set(settings) - set(VALUES):
        raise ValueError(f"values must name some of {VALUES}, got {values!r}")
    if not has_values(_build_float64(make)):
        settings = settings[:1] if "initial" in settings else []
        if not settings:
            raise ValueError("values=('drawn',): the layer has no parameters or buffers to draw")
    generator = make_rng(0 if rng is None else rng)
    for mode in modes:
        if mode not in ("train", "eval"):
            raise ValueError(f"modes must be 'train' and/or 'eval', got {mode!r}")
        for n in sizes:
            for setting in settings:
                _check_one_setting(
                    make, (n, *shape[1:]), mode, setting, generator, make_input, make_target, tolerance, only, report
                )
    _explain_drawn_failures(report)
    return report


def _explain_drawn_failures(report: CheckReport) -> None:
    """A check that fails at drawn values but passed at the initial ones, in the
    same mode and batch size, gets the likely cause: an initial value hid it."""
    passed = {(c.name, c.tensor, c.mode, c.batch_size) for c in report.checks if c.values == "initial" and c.passed}
    for check in report.failed:
        if check.values == "drawn" and (check.name, check.tensor, check.mode, check.batch_size) in passed:
            check.detail = f"likely cause: {HIDDEN_BY_INITIAL_VALUES}" + (f"; {check.detail}" if check.detail else "")


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
    values: Iterable[str] = VALUES,
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
        values=values,
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
    values: Iterable[str] = VALUES,
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
        values=values,
    )
