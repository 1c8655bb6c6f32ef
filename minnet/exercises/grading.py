"""Grading a submission: hidden inputs, drawn parameter values, the reference, the test kit, and the diagnosis."""

from __future__ import annotations

import inspect
import secrets
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

import numpy as np

from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.module import Module
from ..testing.checks import _read_only, _wrote_in_place  # the kit's own: a write into a given array raises
from ..testing.finite_differences import partial_derivatives
from ..testing.gradient_check import gradcheck, likely_cause
from ..testing.values import draw_values
from .exercise import CONTRACT_ITEMS, Array, Case, Exercise, Mistake, get

Values = Literal["drawn", "initial"]

#: What a submission's code may raise and the grader reports: any error, and SystemExit (a ``sys.exit()`` in a
#: backward ends neither the grading nor a teacher's session, and never passes for a success).
_SUBMISSION_ERRORS = (Exception, SystemExit)


@dataclass
class ItemResult:
    """One graded item: its name, whether it passed, its weight and what was found."""

    name: str
    passed: bool
    weight: float
    message: str

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAILED"
        return f"[{mark}] {self.name} (weight {self.weight:g}): {self.message}"


@dataclass
class Report:
    """What :func:`check` found: truthy only when every item of positive weight passed.

    Attributes:
        exercise: the exercise's name.
        items: one :class:`ItemResult` per item, gradient items first.
        feedback: the likely mistakes, one line each (``"All correct."`` when there are none).
        mistakes: the ids of the mistakes recognised (``"forgot_upstream"``, ``"in_place"``, ...).
        seed: the seed of the hidden inputs and drawn values: ``check(..., rng=seed)`` grades the same case.
    """

    exercise: str
    items: list[ItemResult] = field(default_factory=list)
    feedback: str = ""
    mistakes: list[str] = field(default_factory=list)
    seed: int = 0

    @property
    def score(self) -> float:
        """The weights of the items passed over the weights of all items, in [0, 1]."""
        total = sum(item.weight for item in self.items)
        return sum(item.weight for item in self.items if item.passed) / total if total else 0.0

    def __bool__(self) -> bool:
        return bool(self.items) and all(item.passed for item in self.items if item.weight > 0)

    def __str__(self) -> str:
        earned = sum(item.weight for item in self.items if item.passed)
        total = sum(item.weight for item in self.items)
        verdict = "correct" if self else "not yet correct"
        lines = [f"{self.exercise}: score {self.score:.2f} ({earned:g} of {total:g}), {verdict}"]
        lines += [f"  {item}" for item in self.items]
        lines += ["feedback:"] + [f"  {line}" for line in self.feedback.splitlines()]
        return "\n".join(lines)

    __repr__ = __str__


# -- the common mistakes ---------------------------------------------------------------------------------------


def _scaled(case: Case, factor: Callable[[Case], float], only: Callable[[str], bool] = lambda name: True) -> Any:
    return {name: value * factor(case) for name, value in case.expected.items() if only(name)}


def _is_parameter(name: str) -> bool:
    return name not in ("input gradient", "prediction gradient")


LAYER_MISTAKES = (
    Mistake(
        "returns_upstream",
        "backward returns grad_output unchanged: multiply it by the local derivative ∂y/∂x",
        lambda case: {"input gradient": case.grad_output},
    ),
    Mistake(
        "returns_input",
        "backward returns its input x: ∂L/∂x is made from grad_output and the local derivative, not from x alone",
        lambda case: {"input gradient": case.x},
    ),
    Mistake(
        "forgot_upstream",
        "forgot the upstream gradient: backward returns the local derivative alone (what grad_output of ones "
        "gives); multiply by grad_output (the chain rule)",
        lambda case: case.rerun(np.ones_like(case.grad_output)) if case.rerun and case.grad_output is not None else {},
    ),
    Mistake(
        "wrong_sign",
        "wrong sign: the result is minus the gradient",
        lambda case: _scaled(case, lambda c: -1.0),
    ),
    Mistake(
        "averaged",
        "averaged over the batch where it should be summed (off by 1/N): every row of the batch adds its part, "
        "use .sum(axis=0), not .mean(axis=0)",
        lambda case: _scaled(case, lambda c: 1.0 / c.batch_size, _is_parameter),
    ),
    Mistake(
        "forgot_1_over_n",
        "N times too large: a 1/N of the forward is missing from the backward (or a mean taken as a sum)",
        lambda case: _scaled(case, lambda c: float(c.batch_size)),
    ),
)

LOSS_MISTAKES = (
    Mistake(
        "returns_input",
        "backward returns the prediction itself: the gradient is made from what forward cached",
        lambda case: {"prediction gradient": case.x},
    ),
    Mistake(
        "returns_upstream",
        "backward returns ones, as if passing ∂L/∂L = 1 on: a loss's backward starts the chain with ∂L/∂ŷ",
        lambda case: {"prediction gradient": np.ones_like(case.x)},
    ),
    Mistake(
        "forgot_1_over_n",
        "forgot the 1/N: the loss is a mean over the N rows of the batch, so is its gradient",
        lambda case: _scaled(case, lambda c: float(c.batch_size)),
    ),
    Mistake("wrong_sign", "wrong sign: the result is minus the gradient", lambda case: _scaled(case, lambda c: -1.0)),
    Mistake(
        "averaged",
        "divided by N twice: the result is the gradient / N",
        lambda case: _scaled(case, lambda c: 1.0 / c.batch_size),
    ),
)

FUNCTION_MISTAKES = (
    Mistake("wrong_sign", "wrong sign: the result is minus the gradient", lambda case: _scaled(case, lambda c: -1.0)),
    Mistake(
        "forgot_1_over_n",
        "N times too large: the 1/N of the loss is missing",
        lambda case: _scaled(case, lambda c: float(c.batch_size)),
    ),
    Mistake(
        "averaged",
        "N times too small: divided by N once too often (averaged where the chain rule sums)",
        lambda case: _scaled(case, lambda c: 1.0 / c.batch_size),
    ),
    Mistake(
        "factor_2",
        "twice the gradient: the ½ of L = 1/(2N) Σ (Y − ŷ)² cancels the 2 of the square",
        lambda case: _scaled(case, lambda c: 2.0),
    ),
)

_COMMON = {"layer": LAYER_MISTAKES, "loss": LOSS_MISTAKES, "function": FUNCTION_MISTAKES}


# -- comparing ---------------------------------------------------------------------------------------------------


def _close(got: Any, want: Any, tolerance: float) -> bool:
    """Whether ``got`` is an array of ``want``'s shape within ``tolerance`` of it (relative, on its scale)."""
    if not isinstance(got, np.ndarray) or not isinstance(want, np.ndarray) or got.shape != want.shape:
        return False
    if got.dtype.kind not in "fiu" or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-300)
    return bool(np.allclose(got, want, rtol=tolerance, atol=tolerance * scale))


def _difference(got: Any, want: Array) -> str:
    """What is wrong with ``got``, in words: no array, a shape, values not finite, or the largest difference."""
    if got is None:
        return "backward gave no gradient (None)"
    if not isinstance(got, np.ndarray):
        return f"expected an array of shape {want.shape}, got {type(got).__name__}"
    if got.shape != want.shape:
        return f"expected shape {want.shape}, got {got.shape}"
    if got.dtype.kind not in "fiu" or not np.all(np.isfinite(got)):
        return "the gradient holds values that are not finite numbers"
    return f"differs from the reference at the hidden input (largest difference {np.abs(got - want).max():.2g})"


def _shape_mistake(got: Any, want: Array) -> tuple[str, str] | None:
    """A mistake read from a wrong shape: a transposed gradient, or a sum over the wrong axis."""
    if not isinstance(got, np.ndarray) or got.shape == want.shape:
        return None
    if want.ndim == 2 and got.shape == want.shape[::-1]:
        return (
            "wrong_transpose",
            f"wrong transpose: the gradient has shape {got.shape}, its transpose's; expected {want.shape}",
        )
    return "wrong_axis", f"summed (or averaged) over the wrong axis: shape {got.shape}, expected {want.shape}"


_SHAPE_WORDS = ("broadcast", "matmul", "aligned", "shape", "dimension", "mismatch")


def _error_mistake(error: BaseException, source: str | None) -> tuple[str, str]:
    """The mistake a backward that raised likely made, from the error and the line of the submission it came from."""
    if isinstance(error, NotImplementedError):
        return "not_implemented", "backward is still the TODO: it raises NotImplementedError"
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if source is not None and f.filename == source] or frames[-1:]
    line = (mine[-1].line or "").strip() if mine else ""
    where = f" (in `{line}`)" if line else ""
    said = f"{type(error).__name__}: {error}"
    if isinstance(error, ValueError) and any(word in str(error) for word in _SHAPE_WORDS):
        if "sum(" in line or "mean(" in line:
            return "wrong_axis", f"summed (or averaged) over the wrong axis: the shapes do not fit{where}; {said}"
        if "@" in line or ".T" in line or "dot(" in line or "matmul" in line or "transpose" in line:
            return "wrong_transpose", f"wrong transpose: the shapes of a product do not fit{where}; {said}"
    return "raised", f"backward raised {said}{where}"


def _what(candidate: Any) -> str:
    """A submission in words: a class by its name, anything else by its type's (an instance's class)."""
    if inspect.isclass(candidate):
        return f"the class {candidate.__name__}"
    return f"{type(candidate).__name__}" if isinstance(candidate, Module) else f"a {type(candidate).__name__}"


def _source_file(candidate: Any) -> str | None:
    try:
        return inspect.getsourcefile(candidate if callable(candidate) else type(candidate))
    except TypeError:
        return None


# -- running a submission ----------------------------------------------------------------------------------------


def _reference_code(exercise: Exercise) -> Any:
    """The code object of the reference's backward (a layer or loss) or of the reference function."""
    function = _raw(exercise.reference.backward) if exercise.kind != "function" else exercise.reference
    return getattr(function, "__code__", None)


@contextmanager
def _reference_runs(exercise: Exercise, called: list[str]) -> Iterator[None]:
    """Record in ``called`` each run of the reference's own backward (or function) inside the block: a submission
    that inherits it, or calls it, hands the exercise's work to the reference. Only that code is watched, so a
    submission may use the rest of minnet (a teacher's exercise may ask for a block built of minnet's layers)."""
    code = _reference_code(exercise)

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            called.append(getattr(code, "co_qualname", code.co_name))

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


@dataclass
class _Run:
    """What a submission did on the case: its gradients by item name, the error it raised, contract findings."""

    got: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    contract: dict[str, tuple[bool, str]] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (mistake id, message)


def _raw(method: Any) -> Any:
    """The method as written, without minnet's checking wrapper: a gradient of the wrong shape comes back to be
    diagnosed instead of raising."""
    return getattr(method, "__wrapped__", method)


def _layer_gradients(layer: Module, returned: Any, items: list[str]) -> dict[str, Any]:
    got: dict[str, Any] = {name: param.grad.copy() for name, param in _named_gradients(layer)}
    if "input gradient" in items:  # a copy: a second backward may change what the first returned
        got["input gradient"] = returned.copy() if isinstance(returned, np.ndarray) else returned
    return got


def _named_gradients(layer: Module) -> list[tuple[str, Any]]:
    return [(f"{name} gradient", param) for name, param in layer.named_parameters()]


def _copy_values(source: Module, target: Module) -> str:
    """Give ``target`` the parameter values (and same-named buffers) of ``source``; a problem in words, or ``""``."""
    want = dict(source.named_parameters())
    have = dict(target.named_parameters())
    if set(want) != set(have):
        return f"expected parameters named {sorted(want)}, the submission has {sorted(have)}"
    for name, param in want.items():
        if have[name].data.shape != param.data.shape:
            return f"expected parameter {name!r} of shape {param.data.shape}, got {have[name].data.shape}"
        have[name].data[...] = param.data
        have[name].grad[...] = 0
    for name, buffer in source.named_buffers():
        mine = dict(target.named_buffers()).get(name)
        if isinstance(mine, np.ndarray) and isinstance(buffer, np.ndarray) and mine.shape == buffer.shape:
            mine[...] = buffer
    return ""


def _snapshot(value: Any) -> Any:
    """A copy of an array, or of the arrays of a tuple or list, to tell later whether they changed."""
    if isinstance(value, (tuple, list)):
        return type(value)(_snapshot(part) for part in value)
    return value.copy() if isinstance(value, np.ndarray) else value


def _same(value: Any, before: Any) -> bool:
    """Whether ``value`` still holds what its :func:`_snapshot` ``before`` held."""
    if isinstance(value, (tuple, list)):
        return isinstance(before, (tuple, list)) and len(value) == len(before) and all(map(_same, value, before))
    if isinstance(value, np.ndarray):
        return isinstance(before, np.ndarray) and value.shape == before.shape and np.array_equal(value, before)
    return True


def _run_layer(exercise: Exercise, candidate: Any, case: Case, reference: Layer) -> tuple[_Run, Layer | None]:
    run = _Run()
    items = exercise.gradient_items()
    if isinstance(candidate, Module):
        run.notes.append(("not_a_class", f"expected the class, got an instance of it: pass {_what(candidate)}"))
        return run, None
    try:
        layer = exercise.build(candidate)
    except _SUBMISSION_ERRORS as error:
        run.notes.append(("raised", f"building the submission raised {type(error).__name__}: {error}"))
        return run, None
    if not isinstance(layer, Layer):
        run.notes.append(("not_a_layer", f"expected a minnet Layer class, got {_what(candidate)}"))
        return run, None
    problem = _copy_values(reference, layer)
    if problem:
        run.notes.append(("wrong_parameters", problem))
        return run, None
    layer.train()
    x = case.x.copy()
    try:
        out = layer(x)
    except _SUBMISSION_ERRORS as error:
        run.notes.append(("forward_changed", f"the forward raised {type(error).__name__}: {error}"))
        return run, None
    want_out = reference(case.x.copy())
    if not _close(out, want_out, 1e-9):
        run.notes.append(
            ("forward_changed", "the forward differs from the reference's: leave the given forward as it is")
        )
    backward = _raw(type(layer).backward)
    g = case.grad_output
    out_before = _snapshot(out)
    try:
        try:
            returned = backward(layer, _read_only(g))
            wrote = False
        except _SUBMISSION_ERRORS as error:
            if not _wrote_in_place(error):
                raise
            wrote = True
            for _, param in _named_gradients(layer):
                param.grad[...] = 0
            given = np.array(g, copy=True)
            returned = backward(layer, given)
        first = _layer_gradients(layer, returned, items)
        run.got = first
        if wrote:
            run.contract["grad_output unchanged"] = (False, "backward wrote into the grad_output it was given")
            run.notes.append(
                (
                    "in_place",
                    "modified grad_output in place (the caller's array changed): build a new array, e.g. "
                    "grad_output * mask instead of grad_output[...] = 0 or grad_output *= s",
                )
            )
        else:
            run.contract["grad_output unchanged"] = (True, "grad_output is left as it was")
        again = backward(layer, np.array(g, copy=True))
        same_gradient = not isinstance(returned, np.ndarray) or (
            isinstance(again, np.ndarray)
            and again.shape == returned.shape
            and np.array_equal(again, first["input gradient"])
        )
        if same_gradient and _same(out, out_before) and _same(x, case.x):
            run.contract["cache unchanged"] = (True, "the cache, the input and the output are left as they were")
        else:
            run.contract["cache unchanged"] = (
                False,
                "backward changed its cache in place: the output forward returned, the input it cached, or what a "
                "second backward reads",
            )
            run.notes.append(
                (
                    "in_place",
                    "backward changed an array it cached in place (the output y is also the next layer's input): "
                    "build a new array, e.g. d = self.y * (1 - self.y), not d = self.y; d *= ...",
                )
            )
        if "adds into .grad" in exercise.contract_items():
            twice = _layer_gradients(layer, None, [])
            added = all(_close(twice[name] - first[name], first[name], 1e-9) for name in twice if name in first)
            run.contract["adds into .grad"] = (
                (True, "a second backward adds as much again")
                if added
                else (False, "a second backward does not add as much again: assign (=) instead of add (+=)?")
            )
            if not added:
                run.notes.append(("overwrites_grad", "backward assigns .grad (=) instead of adding into it (+=)"))
    except _SUBMISSION_ERRORS as error:
        run.error = error
        return run, None
    return run, layer


def _run_loss(exercise: Exercise, candidate: Any, case: Case) -> tuple[_Run, Loss | None]:
    run = _Run()
    if isinstance(candidate, Module):
        run.notes.append(("not_a_class", f"expected the class, got an instance of it: pass {_what(candidate)}"))
        return run, None
    try:
        loss = exercise.build(candidate)
        if not isinstance(loss, Loss):
            run.notes.append(("not_a_loss", f"expected a minnet Loss class, got {_what(candidate)}"))
            return run, None
        value = loss(case.inputs["pred"].copy(), case.inputs["target"].copy())
        want = case.reference(case.inputs["pred"].copy(), case.inputs["target"].copy())
        same = bool(np.isclose(value, want, rtol=1e-9))
    except _SUBMISSION_ERRORS as error:
        run.notes.append(
            ("forward_changed", f"building the loss or its forward raised {type(error).__name__}: {error}")
        )
        return run, None
    if not same:
        run.notes.append(
            ("forward_changed", "the forward differs from the reference's: leave the given forward as it is")
        )
    backward = _raw(type(loss).backward)
    try:
        first = backward(loss)
        first = first.copy() if isinstance(first, np.ndarray) else first
        second = backward(loss)
    except _SUBMISSION_ERRORS as error:
        run.error = error
        return run, None
    run.got = {"prediction gradient": first}
    same = isinstance(first, np.ndarray) and isinstance(second, np.ndarray) and np.array_equal(first, second)
    run.contract["cache unchanged"] = (
        (True, "a second backward returns the same gradient")
        if same
        else (False, "a second backward returns another gradient: backward changed its cache")
    )
    if not same and isinstance(first, np.ndarray):
        run.notes.append(
            (
                "in_place",
                "backward changed its cache in place (a second backward gives another gradient): copy a "
                "cached array before changing it, e.g. d = self.p.copy()",
            )
        )
    return run, loss


def _run_function(exercise: Exercise, candidate: Any, case: Case) -> tuple[_Run, None]:
    run = _Run()
    given = {name: _read_only(value) for name, value in case.inputs.items()}
    try:
        try:
            result = candidate(**given)
            wrote = False
        except _SUBMISSION_ERRORS as error:
            if not _wrote_in_place(error):
                raise
            wrote = True
            result = candidate(**{name: np.array(value, copy=True) for name, value in case.inputs.items()})
    except _SUBMISSION_ERRORS as error:
        run.error = error
        return run, None
    outputs = list(exercise.outputs)
    if not isinstance(result, tuple) or len(result) != len(outputs):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        run.notes.append(
            ("wrong_return", f"expected a tuple of {len(outputs)} arrays ({', '.join(outputs)}), got {got}")
        )
        result = (result, *(None,) * len(outputs)) if not isinstance(result, tuple) else result
    run.got = dict(zip(outputs, result, strict=False))
    run.contract["inputs unchanged"] = (
        (False, "the function wrote into an array it was given")
        if wrote
        else (True, "the inputs are left as they were")
    )
    if wrote:
        run.notes.append(("in_place", "wrote into an array it was given: compute new arrays instead"))
    return run, None


# -- the kit's check -----------------------------------------------------------------------------------------------


def _numeric(loss: Callable[..., float], inputs: Mapping[str, Any], argument: str) -> Array:
    """∂loss/∂argument by central differences, at a copy of the inputs."""
    point = {name: np.array(value, dtype=np.float64, copy=True) for name, value in inputs.items()}
    return partial_derivatives(lambda: float(loss(**point)), point[argument], 1e-4)


def _kit(
    exercise: Exercise, case: Case, submission: Layer | Loss | None, candidate: Any
) -> tuple[dict[str, bool], str]:
    """Each gradient item against finite differences (minnet.testing's gradcheck, or of ``loss`` for a function),
    at the case's inputs and parameter values; and, when the submission's own code raised during that run, what
    it raised (every gradient item then fails: a backward that works only when the grader calls it does not
    work). An error of the kit's own (a float32 gradient refused by its dtype rule) leaves the items to the
    comparison with the reference."""
    try:
        return _kit_verdict(exercise, case, submission, candidate), ""
    except _SUBMISSION_ERRORS as error:
        source = _source_file(candidate)
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == source]
        if not frames:
            return {}, ""
        line = (frames[-1].line or "").strip()
        raised = f"{type(error).__name__}: {error}" + (f" (in `{line}`)" if line else "")
        return dict.fromkeys(exercise.gradient_items(), False), raised


def _kit_verdict(exercise: Exercise, case: Case, submission: Layer | Loss | None, candidate: Any) -> dict[str, bool]:
    if exercise.kind == "function":
        if exercise.loss is None:
            return {}
        verdict = {}
        result = candidate(**{name: np.array(value, copy=True) for name, value in case.inputs.items()})
        for output, value in zip(exercise.outputs, result, strict=False):
            argument = exercise.wrt.get(output)
            if argument is None:
                continue
            verdict[output] = _close(
                value, _numeric(exercise.loss, case.inputs, argument), max(1e-6, exercise.tolerance)
            )
        return verdict
    if submission is None:
        return {}
    if exercise.kind == "loss":
        result = gradcheck(submission, case.inputs["pred"], case.inputs["target"], values=("initial",))
    else:
        result = gradcheck(submission, case.x, grad_output=case.grad_output, values=("initial",))
    names = {"input": "input gradient" if exercise.kind == "layer" else "prediction gradient"}
    return {names.get(check.name, f"{check.name} gradient"): check.passed for check in result.checks}


# -- the case and the check ----------------------------------------------------------------------------------------


def _make_case(exercise: Exercise, generator: np.random.Generator, values: Values) -> Case:
    kind = exercise.kind
    if kind == "function":
        inputs = dict(exercise.make_input(generator))
        expected = exercise.reference(**{name: np.array(v, copy=True) for name, v in inputs.items()})
        first = next(iter(inputs.values()))
        return Case(inputs, None, None, dict(zip(exercise.outputs, expected, strict=True)), int(np.shape(first)[0]))
    reference = exercise.build(exercise.reference)
    if kind == "loss":
        pred, target = exercise.make_input(generator)
        reference(pred.copy(), target.copy())
        expected = {"prediction gradient": reference.backward()}
        return Case({"pred": pred, "target": target}, None, reference, expected, int(pred.shape[0]))
    reference.train()
    if values == "drawn":
        draw_values(reference, generator)
    x = exercise.make_input(generator)
    out = reference(x.copy())
    g = generator.standard_normal(out.shape)
    integer = getattr(reference, "input_kind", "float") == "integer"

    def rerun(upstream: Array) -> dict[str, Array]:
        for param in reference.parameters():
            param.grad[...] = 0
        returned = reference.backward(np.array(upstream, dtype=np.float64, copy=True))
        got = {f"{name} gradient": param.grad.copy() for name, param in reference.named_parameters()}
        if not integer:
            got["input gradient"] = returned
        return got

    expected = rerun(g)
    return Case({"x": x}, g, reference, expected, int(np.shape(x)[0]), rerun)


def _diagnose(exercise: Exercise, case: Case, name: str, got: Any) -> tuple[str, str] | None:
    want = case.expected[name]
    all_zero = isinstance(got, np.ndarray) and got.size > 0 and not np.any(got)  # of any shape: zeros_like(G)
    if all_zero and np.abs(want).max(initial=0.0) > 0:
        if name in ("input gradient", "prediction gradient") or exercise.kind == "function":
            return "zeros", "the gradient is all zeros: backward returns zeros instead of the gradient"
        parameter = name.removesuffix(" gradient")
        return (
            "forgot_parameter_gradient",
            f"{parameter}.grad stays zero: backward forgot the {parameter} gradient (add it with +=)",
        )
    g = case.grad_output
    if isinstance(got, np.ndarray) and g is not None and got.shape == g.shape != want.shape and np.array_equal(got, g):
        return LAYER_MISTAKES[0].id, LAYER_MISTAKES[0].message  # grad_output passed on, of the output's shape
    shape = _shape_mistake(got, want)
    if shape is not None:
        return shape
    for mistake in (*exercise.mistakes, *_COMMON[exercise.kind]):
        try:
            variant = mistake.variant(case).get(name)
        except Exception:  # a variant that does not apply to this case
            continue
        if variant is not None and _close(got, np.asarray(variant, dtype=np.float64), max(1e-6, exercise.tolerance)):
            return mistake.id, mistake.message
    return None


def check(
    name: str,
    candidate: Any,
    *,
    weights: Mapping[str, float] | None = None,
    rng: int | None = None,
    parameter_values: Values = "drawn",
) -> Report:
    """Grade a submission to the exercise ``name`` and return a :class:`Report`.

    The hidden case is drawn now, from ``rng`` (a seed; ``None``: a fresh one, kept in ``report.seed``): the
    inputs (``exercise.make_input``), the upstream gradient G of a layer (standard normal), and the parameter
    values of a layer (:func:`minnet.testing.draw_values`: magnitudes in [0.5, 0.8] ∪ [1.25, 2] with random signs,
    never 0 or 1, so a forgotten factor γ shows). The reference and the submission get the same values and inputs.

    A gradient item passes when the submission's gradient equals the reference's (relative tolerance
    ``exercise.tolerance``) and passes minnet's test kit (:func:`minnet.gradcheck`, central differences, or
    finite differences of the exercise's ``loss`` for a function) at the same point. A contract item passes when
    the submission keeps the contract (grad_output unchanged, ``+=`` into ``.grad``, its cache or inputs
    unchanged) and at least one gradient item passed. ``report.score`` is the weighted share of items passed.

    Args:
        name: the exercise (see :func:`names`).
        candidate: a layer or loss class (built as the exercise builds its reference), or a function.
        weights: weights by item name, over the exercise's defaults.
        rng: the seed of the hidden case.
        parameter_values: ``"drawn"`` (default); ``"initial"`` grades at the values the layer is built with
            (a γ of ones, a β of zeros), which hides a forgotten γ: for showing why the values are drawn.

    Example:
        >>> import minnet
        >>> report = check("tanh", minnet.Tanh, rng=0)
        >>> bool(report), report.score
        (True, 1.0)
        >>> from minnet.exercises.stubs.tanh import Tanh
        >>> report = check("tanh", Tanh, rng=0)
        >>> bool(report), report.score, report.mistakes
        (False, 0.0, ['not_implemented'])
    """
    exercise = get(name)
    item_weights = exercise.weights(weights)
    if parameter_values not in ("drawn", "initial"):
        raise ValueError(f"check: parameter_values must be 'drawn' or 'initial', got {parameter_values!r}")
    if rng is not None and not (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        raise ValueError(f"check: rng must be a seed, an integer >= 0, or None, got {rng!r}")
    seed = secrets.randbits(63) if rng is None else int(rng)
    case = _make_case(exercise, np.random.default_rng(seed), parameter_values)
    submission: Layer | Loss | None
    called: list[str] = []  # runs of the reference's code by the submission (the reference itself may: a self-check)
    with _reference_runs(exercise, called) if candidate is not exercise.reference else nullcontext():
        if exercise.kind == "layer":
            run, submission = _run_layer(exercise, candidate, case, case.reference)
        elif exercise.kind == "loss":
            run, submission = _run_loss(exercise, candidate, case)
        else:
            run, submission = _run_function(exercise, candidate, case)
    if called:
        run.got, submission = {}, None
        run.notes.insert(
            0,
            (
                "uses_minnet",
                f"the submission runs the reference's own {called[0]}: write the gradient yourself",
            ),
        )
    found: dict[str, tuple[list[str], str]] = {}  # mistake id -> (the items it explains, what it is)
    for mistake_id, message in run.notes:
        found.setdefault(mistake_id, ([], message))
    if run.error is not None:
        mistake_id, message = _error_mistake(run.error, _source_file(candidate))
        found.setdefault(mistake_id, ([], message))
    right = {
        item: run.error is None and _close(run.got.get(item), case.expected[item], exercise.tolerance)
        for item in exercise.gradient_items()
    }
    kit, kit_raised = _kit(exercise, case, submission, candidate) if any(right.values()) else ({}, "")
    items = []
    for item in exercise.gradient_items():
        want = case.expected[item]
        passed = right[item] and kit.get(item, True)
        if passed:
            message = "matches the reference and finite differences"
        elif right[item] and kit_raised:
            message = f"matches the reference, but minnet.gradcheck's run of the backward raised {kit_raised}"
        elif right[item]:
            message = "matches the reference, but not finite differences (minnet.gradcheck)"
        elif called:
            message = f"not graded: the submission runs the reference's own {called[0]}"
        elif run.error is not None:
            message = f"not graded: backward raised ({_error_mistake(run.error, _source_file(candidate))[0]})"
        else:
            message = _difference(run.got.get(item), want)
            diagnosis = _diagnose(exercise, case, item, run.got.get(item))
            if diagnosis is None and isinstance(run.got.get(item), np.ndarray) and run.got[item].shape == want.shape:
                cause = likely_cause(np.asarray(run.got[item], dtype=np.float64), want, case.batch_size)
                if cause:
                    diagnosis = ("pattern", f"the pattern of the error: {cause}")
            if diagnosis is not None:
                found.setdefault(diagnosis[0], ([], diagnosis[1]))[0].append(item)
                message += f"; likely: {diagnosis[0]}"
        items.append(ItemResult(item, passed, item_weights[item], message))
    any_gradient = any(item.passed for item in items)
    for item in exercise.contract_items():
        kept, said = run.contract.get(item, (False, "not checked: backward did not run"))
        if kept and not any_gradient:
            kept, said = False, "not awarded until a gradient is right"
        items.append(ItemResult(item, kept, item_weights[item], said))
    report = Report(exercise.name, items, seed=seed)
    report.mistakes = list(found)
    if report and not found:
        report.feedback = "All correct."
    elif found:
        report.feedback = "\n".join(
            f"- {', '.join(items)}: {message}" if items else f"- {message}" for items, message in found.values()
        )
    else:
        report.feedback = (
            "- no known mistake matches: compare your intermediate results with the reference's step by step "
            "(minnet.exercises.cmp)"
        )
    return report


__all__ = ["CONTRACT_ITEMS", "ItemResult", "Report", "check"]
