"""check_layer and check_loss: every check a new layer or loss should pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_int, check_real, describe, is_int
from .._rng import make_rng
from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.module import Module, held_items
from .finite_differences import five_point_derivative
from .gradient_check import (
    call,
    gradcheck,
    has_integer_input,
    hidden_by_initial_values,
    input_points,
    objective_scale,
    run_backward,
    scalar_objective,
)
from .nesting import Misfit, aligned, is_nested, leaf_names, leaves, map_leaves, rebuild
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

#: What numpy's error says when a layer writes into an array the kit passed read-only.
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
    x: Any,
    target: Any,
    upstream: Any,
    rng: np.random.Generator,
    step: float,
    integer: bool,
) -> tuple[float, float, float]:
    """Directional derivative along one random direction of the input (each
    float array of several inputs) and all parameters together (the
    parameters alone for an integer input): analytic Σ ⟨gradient, direction⟩
    against a five-point central difference of t ↦ f(x + t·v_x, θ + t·v_θ).
    Returns the analytic and numeric values and the scale of f."""
    params = list(layer.parameters())
    x_point = map_leaves(lambda a: a if a is None else a.copy(), x)
    f = scalar_objective(layer, x_point, target, upstream=upstream)
    for p in params:
        p.grad[...] = 0
    value = layer(x_point, target) if isinstance(layer, Loss) else call(layer, x_point)
    f()  # the analytic gradients below come from the same (frozen) randomness as every f() after
    grad_input = run_backward(layer, upstream=upstream)
    returned = dict(zip(leaf_names(x_point, "input"), aligned(x_point, grad_input), strict=True))
    inputs = input_points(x_point, integer)
    points = [array for _, array in inputs] + [p.data for p in params]
    gradients = [returned[name] for name, _ in inputs] + [p.grad for p in params]
    gradients = [np.zeros_like(a) if g is None else g for g, a in zip(gradients, points, strict=True)]
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


def plain_array_attributes(layer: Module) -> list[tuple[str, str, NDArray[Any]]]:
    """``(layer path, attribute, array)`` for each float ndarray held by a layer of
    the tree (in an attribute, or in a list, tuple or dict attribute at any
    depth, named like ``weights.0``) that is neither a buffer nor shares memory
    with a Parameter: what :func:`check_layer` tries, on the layer as ``__init__``
    left it, in its ``parameters_registered`` check."""
    parameter_arrays = [p.data for p in layer.parameters()]
    found = []
    for path, module in layer.named_layers():
        for name, array in held_items(module, (np.ndarray,)):
            if name.split(".")[0] in module.buffer_names or array.dtype.kind != "f":
                continue
            if not any(np.shares_memory(array, data) for data in parameter_arrays):
                found.append((path, name, array))
    return found


def _unregistered(
    layer: Layer | Loss,
    candidates: list[tuple[str, str, NDArray[Any]]],
    f: Callable[[], float],
    rng: np.random.Generator,
) -> list[str] | None:
    """The candidates the output depends on: moving the array's values (in place,
    then back) changes f. ``None`` when f is not finite, so nothing can be told."""
    before = f()
    if not np.isfinite(before):
        return None
    found = []
    for path, name, array in candidates:
        if not array.flags.writeable:
            continue
        saved = array.copy()
        array += ((0.5 + np.abs(array)) * drawn_magnitudes(rng, array.shape)).astype(array.dtype)
        try:
            after = f()
        except Exception:  # a value the layer cannot take is not evidence either way
            after = before
        finally:
            array[...] = saved
        if not abs(after - before) <= 1e-9 * max(abs(before), abs(after)):
            owner = type(dict(layer.named_layers())[path]).__name__
            where = f"{path}.{name}" if path else name
            attribute = name.split(".")[0]
            what = (
                "so save() leaves it out; add it to buffer_names"
                if isinstance(layer, Loss)
                else "no optimizer sees it, so it never trains, and save() leaves it out; make it "
                "minnet.Parameter(...) to train it, or list it in buffer_names if it is state that is not trained"
            )
            found.append(
                f"{owner}.{name} ('{where}', a float array of shape {saved.shape} held after __init__) changes the "
                f"output but is neither a Parameter nor in buffer_names ('{attribute}' is not): {what}"
            )
    f()
    return found


class _Setting:
    """One setting of the checks (mode, batch size, parameter values), recording into a report."""

    def __init__(self, report: CheckReport, only: set[str], mode: str, batch_size: int, values: str) -> None:
        self.report, self.only, self.mode, self.batch_size, self.values = report, only, mode, batch_size, values
        self.recorded: set[str] = set()

    def add(self, name: str, passed: bool, detail: str = "", **extra: Any) -> None:
        if name in self.only:
            self.recorded.add(name)
            check = Check(name, bool(passed), self.mode, self.batch_size, detail, values=self.values, **extra)
            self.report.checks.append(check)

    def stop(self, reason: str) -> None:
        """Every requested check this setting did not reach fails, saying why."""
        for name in CHECKS:
            if name in self.only and name not in self.recorded:
                self.add(name, False, f"not reached: {reason}")


#: The likely cause of values that go wrong only at drawn parameter values.
_DOMAIN = (
    "likely cause: a parameter has a domain its drawn value left (a negative scale under a square root?): "
    "check with values=('initial',) and set the values to test in the factory"
)


def _forward_hint(layer: Layer | Loss, x: NDArray[Any], error: BaseException, values: str) -> str:
    """A likely cause for a forward that raised."""
    if x.dtype.kind in "iub" and isinstance(error, IndexError) and getattr(layer, "input_kind", "float") == "float":
        return (
            "; likely cause: the layer takes indices but does not say so: set input_kind = 'integer' on the class, "
            "or minnet converts its integer input to float"
        )
    if values == "drawn" and isinstance(error, (ArithmeticError, RuntimeWarning)):
        return f"; {_DOMAIN}"
    return ""


def _not_finite(value: Any) -> str:
    """Where ``value`` holds NaN or ±inf, or ``""``."""
    array = np.asarray(value, dtype=np.float64)
    if np.all(np.isfinite(array)):
        return ""
    at = np.unravel_index(int(np.argmax(~np.isfinite(array))), array.shape) if array.ndim else ()
    return f"{array[at]} at {list(map(int, at))}" if at else str(float(array))


def _input_gradient_problems(x: Any, grad_input: Any, integer: bool, several: bool) -> list[str]:
    """What is wrong with the shapes and dtypes of the input gradients backward returned: each float input's must
    be an array of its shape and dtype (or ``None``, no gradient, for one of several inputs: finite differences
    then tell whether that is right); an integer input's must be ``None``."""
    if not several:
        if integer:
            return (
                []
                if grad_input is None
                else [f"expected None for an input of indices, got {type(grad_input).__name__}"]
            )
        if isinstance(grad_input, np.ndarray) and grad_input.shape == x.shape and grad_input.dtype == x.dtype:
            return []
        got = (grad_input.shape, str(grad_input.dtype)) if isinstance(grad_input, np.ndarray) else type(grad_input)
        return [f"expected an input gradient of {(x.shape, str(x.dtype))}, got {got}"]
    problems = []
    for i, (name, array, grad) in enumerate(
        zip(leaf_names(x, "input"), leaves(x), aligned(x, grad_input), strict=True)
    ):
        differentiable = array is not None and array.dtype.kind == "f" and not (i == 0 and integer)
        if isinstance(grad, Misfit):
            problems.append(f"expected gradients nested as the inputs are, got {grad.problem}")
            break
        if grad is None:
            continue
        if not differentiable:
            problems.append(f"expected None for {name}, data without a gradient, got {type(grad).__name__}")
        elif not isinstance(grad, np.ndarray) or grad.shape != array.shape or grad.dtype != array.dtype:
            found = str((grad.shape, str(grad.dtype))) if isinstance(grad, np.ndarray) else type(grad).__name__
            problems.append(f"expected a gradient of {(array.shape, str(array.dtype))} for {name}, got {found}")
    return problems


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
    setting = _Setting(report, only, mode, n, values)
    add, stop = setting.add, setting.stop

    layer = _build_float64(make)
    layer.train(mode == "train")
    candidates = plain_array_attributes(layer)  # as __init__ left them
    if values == "drawn":
        draw_values(layer, rng)
    is_loss = isinstance(layer, Loss)
    if not list(layer.parameters()):
        add("parameter_gradient", True, "the layer has no parameters")
        add("accumulation", True, "the layer has no parameters")
    made = make_input(rng, shape) if make_input else rng.standard_normal(shape)
    several = is_nested(made)  # a tuple of inputs, forward(*x): an RNN's (x, h_0), an LSTM's (x, (h_0, c_0))
    given = np.asarray(leaves(made)[0] if several else made)
    integer = has_integer_input(layer, given)
    x = given if integer else given.astype(np.float64)  # integer data for a float layer: converted, as it would be
    if several:  # the others: float data as float64, anything else (a mask of booleans) as it came
        rest = [a if a is None or a.dtype.kind != "f" else a.astype(np.float64) for a in leaves(made)[1:]]
        x = rebuild(made, iter([x, *rest]))
    float_inputs = bool(input_points(x, integer))  # the inputs whose gradients are checked (none: indices alone)
    if not float_inputs:
        add("input_gradient", True, "an integer input has no gradient: the parameters are checked")
    target = make_target(rng, shape) if make_target else None
    if is_loss and target is None:
        target = rng.standard_normal(shape)
    x_before = map_leaves(lambda a: a if a is None else a.copy(), x)
    target_before = np.array(target, copy=True) if target is not None else None

    in_place: list[str] = []
    # forward gets read-only copies: a write into them raises, and says where
    x_given, target_given = map_leaves(_read_only, x), _read_only(target)
    try:
        try:
            value = layer(x_given, target_given) if is_loss else call(layer, x_given)
        except Exception as error:
            if not _wrote_in_place(error):
                raise
            what = (
                "prediction or target"
                if is_loss
                else "inputs (the one modified is named below)"
                if several
                else "input x"
            )
            in_place.append(
                f"forward wrote into its {what} in place "
                f"({_describe(error)}; the kit passes it read-only): build a new array instead"
            )
            x_given = map_leaves(lambda a: a if a is None else a.copy(), x)
            target_given = None if target is None else np.array(target, copy=True)
            value = layer(x_given, target_given) if is_loss else call(layer, x_given)
    except Exception as error:  # the report says what went wrong instead of stopping
        add("forward", False, _describe(error) + _forward_hint(layer, given, error, values))
        stop(f"forward raised {type(error).__name__}")
        return
    several_out = not is_loss and is_nested(value)  # a tuple of outputs: (output, (h_n, c_n))
    arrays_out = [a for a in leaves(value) if a is not None] if several_out else [value]
    bad = next((_not_finite(a) for a in arrays_out if isinstance(a, (float, np.ndarray)) and _not_finite(a)), "")
    if is_loss and not (isinstance(value, float) or (isinstance(value, np.ndarray) and value.shape[:1] == (n,))):
        kind = "a 0-d array: return float(...)" if isinstance(value, np.ndarray) and not value.ndim else type(value)
        add("forward", False, f"expected a Python float (or an array for reduction='none'), got {kind}")
    elif not is_loss and not isinstance(value, np.ndarray) and not several_out:
        add(
            "forward",
            False,
            f"expected an ndarray from forward (or a tuple of them), got {type(value).__name__}",
        )
    elif bad:
        hint = f"; {_DOMAIN}" if values == "drawn" else ""
        add("forward", False, f"expected finite output for a finite input, got {bad}{hint}")
        stop("forward returned values that are not finite")
        return
    else:
        add("forward", True)
    upstream: Any = None
    if isinstance(value, np.ndarray) or several_out:  # one random array per output array
        upstream = map_leaves(lambda a: None if a is None else rng.standard_normal(np.shape(a)), value)

    fresh = _build_float64(make)
    fresh.train(mode == "train")
    try:
        zeros = map_leaves(lambda a: None if a is None else np.zeros(np.shape(a)), value)
        fresh.backward(*(() if is_loss and upstream is None else (zeros,)))
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

    def backward(gradient: Any) -> Any:
        return layer.backward(*(() if gradient is None else (gradient,)))

    def copied(gradient: Any) -> Any:
        return map_leaves(lambda a: a if a is None else a.copy(), gradient)

    for (_, p), grad in zip(params, planted, strict=True):
        p.grad[...] = grad
    upstream_given = map_leaves(_read_only, upstream)  # read-only too: a write into it raises
    try:
        try:
            grad_input = backward(upstream_given)
        except Exception as error:
            if not _wrote_in_place(error):
                raise
            for (_, p), grad in zip(params, planted, strict=True):
                p.grad[...] = grad
            try:  # the same backward with a writeable grad_output tells which array it wrote into
                upstream_given = copied(upstream)
                grad_input = backward(upstream_given)
                in_place.append(
                    f"backward wrote into the grad_output it was given ({_describe(error)}; the kit passes it "
                    "read-only): build a new array, e.g. grad_output * s instead of grad_output *= s"
                )
            except Exception as again:
                if not _wrote_in_place(again):
                    raise
                in_place.append(
                    f"backward wrote into an array forward cached, the {'prediction or target' if is_loss else 'input'}"
                    f" ({_describe(error)}; the kit passes it read-only): build a new array instead"
                )
                add("input_unchanged", False, "; ".join(in_place))
                stop("backward writes into the input it cached")
                return
        after_one = [p.grad.copy() for _, p in params]
        grad_input_again = backward(copied(upstream))
        after_two = [p.grad.copy() for _, p in params]
    except Exception as error:
        add("input_unchanged", not in_place, "; ".join(in_place))
        add("gradient_shapes", False, f"backward raised {_describe(error)}")
        stop(f"backward raised {type(error).__name__}")
        return

    # what the layer was given, compared bytewise: a write that got past the read-only flag shows here
    input_names = leaf_names(x, "input") if several else ["the prediction" if is_loss else "the input"]
    for name, now, before in zip(input_names, leaves(x_given), leaves(x_before), strict=True):
        if before is not None and not _same_bytes(now, before):
            in_place.append(f"{name} was modified, at {list(_worst(now, before))}")
    if target is not None and not _same_bytes(np.asarray(target_given), target_before):
        in_place.append("the target was modified")
    wrote_upstream = any(problem.startswith("backward wrote into the grad_output") for problem in in_place)
    for now, before in zip(leaves(upstream_given), leaves(upstream), strict=True):
        if before is not None and not wrote_upstream and not _same_bytes(now, before):
            in_place.append(f"backward modified the grad_output it was given, at {list(_worst(now, before))}")
    add("input_unchanged", not in_place, "; ".join(in_place))

    problems = _input_gradient_problems(x, grad_input, integer, several)
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

    repeat_problems = []
    for name, first_grad, second_grad in zip(
        input_names, aligned(x, grad_input), aligned(x, grad_input_again), strict=True
    ):
        if first_grad is None or second_grad is None:
            if (first_grad is None) != (second_grad is None):
                repeat_problems.append(f"for {name} one backward returned None, the other an array")
        elif not _same_bytes(second_grad, first_grad):
            at = _worst(second_grad, first_grad)
            repeat_problems.append(
                f"for {name} the second backward returned {second_grad[at]:.6e} at {list(at)}, the first "
                f"{first_grad[at]:.6e}: backward changed its own cache (an in-place update of a cached array?)"
            )
    add("repeat_backward", not repeat_problems, "; ".join(repeat_problems))
    for (name, _), grad, one, two in zip(params, planted, after_one, after_two, strict=True):
        first, second = one - grad, two - one
        if not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
            bad = _not_finite(first) or _not_finite(second)
            add("accumulation", False, f"expected finite gradients, got {bad} in {name}.grad", tensor=name)
            continue
        ok = np.allclose(second, first, rtol=1e-12, atol=1e-12 * (1 + np.abs(one).max()))
        detail = ""
        if not ok:
            i = _worst(second, first)
            detail = (
                f"the first backward added {first[i]:.6e} at {list(i)}, the second {second[i]:.6e}; expected the "
                "same amount twice: backward assigns .grad (=) instead of adding to it (+=)?"
            )
        add("accumulation", ok, detail, tensor=name)

    gradients_asked = bool(only & {"input_gradient", "parameter_gradient", "joint_gradient"})
    f = scalar_objective(layer, x, target, upstream=upstream)
    try:
        random = gradients_asked and f() != f()
    except Exception as error:
        stop(f"forward raised {_describe(error)} on the input again")
        return
    if random:
        note = (
            f"{mode} mode: two forward passes on the same input differ even after resetting the random generators "
            "the layers hold (numpy Generator and RandomState objects in attributes, lists and dicts) and numpy's "
            "global state, so finite differences cannot agree: draw the randomness from one of those"
        )
        if note not in report.notes:
            report.notes.append(note)
    cause = "; likely cause: forward is random in a way the kit cannot reset (see the note)" if random else ""
    if gradients_asked and (params or float_inputs):
        try:
            result = gradcheck(layer, x, target, grad_output=upstream, tolerance=tolerance, values=("initial",))
        except Exception as error:
            stop(f"finite differences raised {_describe(error)}")
            return
        for tensor in result.checks:
            detail = tensor.problem or (f"likely cause: {tensor.cause}" if tensor.cause else "")
            if not tensor.passed and not detail:
                detail = f"expected a relative error of at most {tolerance:.0e}{cause}"
            finite = tensor.problem is None
            add(
                "input_gradient" if tensor.name.split("[")[0] == "input" else "parameter_gradient",
                tensor.passed,
                detail,
                tensor=tensor.name,
                index=tensor.index,
                analytic=tensor.analytic if finite else None,
                numeric=tensor.numeric if finite else None,
                rel_error=tensor.max_rel_error if finite else None,
            )

    if "joint_gradient" in only and (params or float_inputs):
        try:
            analytic, numeric, scale = _joint_check(layer, x, target, upstream, rng, 1e-4, integer)
        except Exception as error:
            stop(f"finite differences raised {_describe(error)}")
            return
        rel = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-5 * scale, 1e-300)
        finite = bool(np.isfinite(analytic) and np.isfinite(numeric))
        add(
            "joint_gradient",
            finite and rel <= tolerance,
            ""
            if finite and rel <= tolerance
            else "the gradients together do not predict the change of the output" + cause
            if finite
            else f"expected finite values, got analytic {analytic}, numeric {numeric}",
            tensor="parameters" if not float_inputs else "input and all parameters",
            analytic=analytic if finite else None,
            numeric=numeric if finite else None,
            rel_error=rel if finite else None,
        )
    elif not float_inputs:
        add("joint_gradient", True, "an integer input and no parameters: nothing to move")

    if "parameters_registered" in only:
        found = _unregistered(layer, candidates, f, rng) if candidates else []
        if found is None:
            add("parameters_registered", True, "not told: the output is not finite")
        elif found and isinstance(layer, Loss):
            add("parameters_registered", True, "a loss is not trained: see the note")
            for problem in found:
                if f"note: {problem}" not in report.notes:
                    report.notes.append(problem)
        else:
            add("parameters_registered", not found, "; ".join(found))


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
    owner: str,
) -> CheckReport:
    if isinstance(make, Module) or not callable(make):
        raise TypeError(
            f"{owner}: expected a factory that builds the layer (a class or a lambda), got {make!r}; "
            "check_layer builds a fresh layer for every setting"
        )
    first = _build_float64(make)
    if make() is first:
        raise TypeError(
            f"{owner}: the factory returned the same {type(first).__name__} twice; {owner} needs a new layer for "
            "every setting: pass a factory that builds one, e.g. lambda: Linear(3, 2, rng=0)"
        )
    if make_input is None and getattr(first, "input_kind", "float") == "integer":
        raise ValueError(
            f"{owner}: {type(first).__name__} takes integer indices (input_kind='integer'): pass "
            "make_input=lambda rng, shape: rng.integers(0, rows, shape), with repeated indices, to check it"
        )
    if isinstance(shape, str) or not isinstance(shape, Sequence) or not all(map(is_int, shape)):
        raise TypeError(f"{owner}: the input shape must be a tuple of ints such as (4, 3), got {describe(shape)}")
    shape = tuple(int(side) for side in shape)
    if len(shape) < 1 or min(shape) < 1:
        raise ValueError(f"{owner}: the input shape needs a batch dimension first and sides >= 1, got {shape}")
    tolerance = check_real(owner, "tolerance", tolerance, 0.0, low_open=True)
    only = set(CHECKS if checks is None else checks)
    unknown = only - set(CHECKS)
    if unknown:
        raise ValueError(f"{owner}: unknown checks {sorted(unknown)}; the checks are {list(CHECKS)}")
    sizes = list(dict.fromkeys(batch_sizes if batch_sizes is not None else (shape[0], 1)))
    sizes = [check_int(owner, "batch_sizes", n, minimum=1) for n in sizes]
    if batch_sizes is None and shape[0] == 1:
        sizes.append(3)
    report = CheckReport(subject=repr(first))
    if len({*shape[1:], max(sizes)}) < len(shape):
        report.notes.append(f"input shape {shape} has equal sides: a transposed gradient could pass unnoticed")
    for name, p in first.named_parameters():
        if p.data.ndim >= 2 and len(set(p.data.shape)) < p.data.ndim:
            report.notes.append(
                f"parameter {name} has equal sides {p.data.shape}: a transposed gradient could pass unnoticed"
            )
    settings = list(dict.fromkeys(values))
    if not settings or set(settings) - set(VALUES):
        raise ValueError(f"{owner}: values must name some of {VALUES}, got {values!r}")
    if not has_values(first):
        settings = settings[:1] if "initial" in settings else []
        if not settings:
            raise ValueError(f"{owner}: values=('drawn',): the layer has no parameters or buffers to draw")
    generator = make_rng(0 if rng is None else rng)
    for mode in modes:
        if mode not in ("train", "eval"):
            raise ValueError(f"{owner}: modes must be 'train' and/or 'eval', got {mode!r}")
        for n in sizes:
            for setting in settings:
                _check_one_setting(
                    make, (n, *shape[1:]), mode, setting, generator, make_input, make_target, tolerance, only, report
                )
    _explain_drawn_failures(report)
    return report


_GRADIENT_CHECKS = ("input_gradient", "parameter_gradient", "joint_gradient")


def _explain_drawn_failures(report: CheckReport) -> None:
    """A gradient check that fails at drawn values but passed at the initial ones,
    in the same mode and batch size, gets the likely cause: an initial value hid it."""
    passed = {(c.name, c.tensor, c.mode, c.batch_size) for c in report.checks if c.values == "initial" and c.passed}
    for check in report.failed:
        key = (check.name, check.tensor, check.mode, check.batch_size)
        if check.values == "drawn" and check.name in _GRADIENT_CHECKS and check.analytic is not None and key in passed:
            cause = check.detail.removeprefix("likely cause: ") if check.detail.startswith("likely cause: ") else ""
            check.detail = f"likely cause: {hidden_by_initial_values(cause)}"


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
    and buffers are made float64. For each mode ("train", "eval"), each
    batch size (``input_shape[0]`` and 1, or ``batch_sizes``) and each set of
    parameter values (as built, then drawn: ``values``) a float64 input
    (standard normal, or ``make_input(rng, shape)``) and a random upstream
    gradient are drawn, and the checks in :data:`CHECKS` run: backward before
    forward raises; input and gradient are left unchanged (they are passed
    read-only); gradient shapes and dtypes; two backwards are bitwise equal;
    ``.grad`` is added to, not overwritten; input and each parameter against
    five-point central differences, and input and all parameters together
    along one random direction; every float array the output depends on is a
    Parameter or a buffer. Random generators held by the layer (a dropout
    mask's) are reset before every forward pass, so finite differences see
    one mask. A failure says where it ran, what was expected, what came and,
    where the errors show one, a likely cause.

    Args:
        make_layer: builds the layer.
        input_shape: ``(N, ...)``; give sides that differ from each other.
        rng: seed or Generator for the inputs (``None``: seed 0, reproducible).
        batch_sizes: the batch sizes to try (default ``(input_shape[0], 1)``).
        modes: the modes to check in.
        tolerance: the largest relative error allowed.
        make_input: ``make_input(rng, shape)`` returns the input (integers,
            with repeated indices, for a layer of ``input_kind = "integer"``),
            or a tuple of several inputs, ``forward(*inputs)``, which may nest
            (an LSTM's ``(x, (h_0, c_0))``; ``shape`` is the first one's). Each
            float array among them is checked as the input is (left unchanged,
            its gradient's shape, finite differences, named ``input[1][0]``
            and so on), and a forward that returns a tuple of arrays gets a
            random gradient for each (docs/custom-layer.md).
        checks: run only these (names from :data:`CHECKS`).
        values: the parameter values to check at: ``"initial"`` (as built)
            and ``"drawn"`` (:func:`~minnet.testing.values.draw_values`).

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
        owner="check_layer",
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
        owner="check_loss",
    )
