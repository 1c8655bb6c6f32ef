"""An exercise, the known mistakes it diagnoses, the hidden case it is graded on, and the registry."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..nn.layer import Layer
from ..nn.loss import Loss

Array = NDArray[np.float64]
Kind = Literal["layer", "loss", "function"]

#: The default weight of a gradient item (a bias gradient: half of it) and of a contract item.
GRADIENT_WEIGHT, BIAS_WEIGHT, CONTRACT_WEIGHT = 2.0, 1.0, 1.0

#: The contract items, by kind: what a backward must respect besides the numbers. They count only once a gradient
#: item has passed, so a backward that does nothing earns nothing.
CONTRACT_ITEMS = {
    "grad_output unchanged": "backward leaves the grad_output it was given unchanged",
    "adds into .grad": "backward adds (+=) into each .grad: a second backward adds as much again",
    "cache unchanged": "backward leaves its cache unchanged: a second backward returns the same gradient",
    "inputs unchanged": "the function leaves the arrays it is given unchanged",
}


@dataclass
class Case:
    """One hidden grading case: the inputs drawn at grading time and what the reference computed on them.

    Attributes:
        inputs: the named inputs: ``{"x": x}`` for a layer, ``{"pred": ..., "target": ...}`` for a loss, the
            function's keyword arguments for a function.
        grad_output: the upstream gradient G given to a layer's backward (``None`` for a loss or function).
        reference: the reference layer or loss after its forward on the case (its caches are set), or ``None``.
        expected: the reference's gradients, by item name.
        batch_size: N, the rows of the first input.
        rerun: ``rerun(grad_output)`` runs the reference's backward again with another upstream gradient and
            returns its gradients by item name (layers only; ``None`` otherwise).
    """

    inputs: dict[str, Any]
    grad_output: Array | None
    reference: Any
    expected: dict[str, Array]
    batch_size: int
    rerun: Callable[[Array], dict[str, Array]] | None = None

    @property
    def g(self) -> Array:
        """The upstream gradient G of a layer's case (a ValueError for a loss or function, which have none)."""
        if self.grad_output is None:
            raise ValueError("this case has no upstream gradient: it is a loss's or a function's")
        return self.grad_output

    @property
    def x(self) -> Any:
        """The first input (a layer's x, a loss's prediction)."""
        return next(iter(self.inputs.values()))


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer and how to recognise it.

    ``variant(case)`` returns what a submission making this mistake gives on ``case``, by item name (items it
    leaves right may be left out); a submission whose result matches it on an item that failed is told
    ``message``. ``id`` is a short name for the mistake (``"forgot_upstream"``), what tests and teachers read.
    """

    id: str
    message: str
    variant: Callable[[Case], Mapping[str, Any]]


@dataclass
class Exercise:
    """One exercise: the reference, the stub a learner starts from, the hidden inputs and the grading items.

    Three kinds, told by ``reference``:

    - a :class:`~minnet.Layer` class: a submission is a layer class built as ``cls(*args, **kwargs)``;
      ``make_input(rng)`` returns the hidden input x. Items: ``"input gradient"`` (unless the input is integer
      indices), ``"<parameter> gradient"`` for each parameter (``"weight gradient"``), and the contract items
      ``"grad_output unchanged"`` and (with parameters) ``"adds into .grad"``.
    - a :class:`~minnet.Loss` class: ``make_input(rng)`` returns ``(prediction, target)``. Items:
      ``"prediction gradient"`` and ``"cache unchanged"``.
    - a function returning a tuple of gradients: ``make_input(rng)`` returns its keyword arguments, ``outputs``
      names what it returns, and ``loss`` with ``wrt`` (output name → argument it differentiates) lets finite
      differences check each. Items: the ``outputs`` and ``"inputs unchanged"``.

    Args:
        name: the name learners type (``minnet exercise start NAME``): lower case, digits, ``_`` and ``-``.
        reference: the layer or loss class, or the function, whose gradients are right.
        stub: the class or function a learner starts from (its backward raises NotImplementedError).
        make_input: ``make_input(rng)`` draws the hidden inputs at grading time.
        items: default weights by item name (missing items keep the default: 2 for a gradient, 1 for a bias
            gradient and a contract item); a teacher overrides them per call with ``check(..., weights=...)``.
        summary: one line for ``minnet exercise list``.
        args, kwargs: how a layer or loss class is built (the reference and every submission alike).
        mistakes: the exercise's own known mistakes, tried before the common ones.
        outputs, loss, wrt: for a function (see above).
        stub_source: the text ``minnet exercise start`` writes; default: the source of the stub's module.
        tolerance: the relative difference from the reference allowed.

    Example:
        >>> import minnet
        >>> from minnet.exercises import Exercise
        >>> ex = Exercise(name="my_tanh", reference=minnet.Tanh, stub=minnet.Tanh,
        ...               make_input=lambda rng: rng.standard_normal((6, 3)))
        >>> ex.kind, ex.item_names()
        ('layer', ['input gradient', 'grad_output unchanged'])
    """

    name: str
    reference: Any
    stub: Any
    make_input: Callable[[np.random.Generator], Any]
    items: Mapping[str, float] | None = None
    summary: str = ""
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    mistakes: Sequence[Mistake] = ()
    outputs: Sequence[str] = ()
    loss: Callable[..., float] | None = None
    wrt: Mapping[str, str] = field(default_factory=dict)
    stub_source: str | None = None
    tolerance: float = 1e-7

    @property
    def kind(self) -> Kind:
        """``"layer"``, ``"loss"`` or ``"function"``, from ``reference``."""
        if inspect.isclass(self.reference) and issubclass(self.reference, Layer):
            return "layer"
        if inspect.isclass(self.reference) and issubclass(self.reference, Loss):
            return "loss"
        return "function"

    def build(self, cls: Any) -> Any:
        """``cls(*args, **kwargs)``: the reference or a submission, as this exercise builds it."""
        return cls(*self.args, **dict(self.kwargs))

    def gradient_items(self) -> list[str]:
        """The names of the gradient items, in the order they are graded."""
        if self.kind == "function":
            return list(self.outputs)
        if self.kind == "loss":
            return ["prediction gradient"]
        layer = self.build(self.reference)
        names = [] if getattr(layer, "input_kind", "float") == "integer" else ["input gradient"]
        return names + [f"{name} gradient" for name, _ in layer.named_parameters()]

    def contract_items(self) -> list[str]:
        """The names of the contract items (see :data:`CONTRACT_ITEMS`)."""
        if self.kind == "function":
            return ["inputs unchanged"]
        if self.kind == "loss":
            return ["cache unchanged"]
        has_parameters = any(name != "input gradient" for name in self.gradient_items())
        return ["grad_output unchanged", *(["adds into .grad"] if has_parameters else [])]

    def item_names(self) -> list[str]:
        """Every item, gradient items first."""
        return self.gradient_items() + self.contract_items()

    def weights(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """The weight of each item: the defaults, then ``items``, then ``overrides`` (a ValueError names an
        unknown item or a weight that is negative or not finite, or a total of zero)."""
        gradients = self.gradient_items()
        weights = {
            name: BIAS_WEIGHT if name.startswith("bias") else GRADIENT_WEIGHT if name in gradients else CONTRACT_WEIGHT
            for name in self.item_names()
        }
        for source, given in (("items", self.items), ("weights", overrides)):
            for name, weight in (given or {}).items():
                if name not in weights:
                    known = list(weights)
                    raise ValueError(
                        f"exercise {self.name!r}: {source} names an unknown item {name!r}; its items are {known}"
                    )
                if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                    raise ValueError(
                        f"exercise {self.name!r}: the weight of {name!r} must be a finite number >= 0, got {weight!r}"
                    )
                weights[name] = float(weight)
        if not sum(weights.values()) > 0:
            raise ValueError(f"exercise {self.name!r}: the weights add up to 0; give some item a weight > 0")
        return weights

    def source(self) -> str:
        """The text of the stub file ``minnet exercise start`` writes."""
        if self.stub_source is not None:
            return self.stub_source
        module = inspect.getmodule(self.stub)
        if module is None:
            raise ValueError(f"exercise {self.name!r}: the stub's module is unknown; give stub_source")
        return inspect.getsource(module)


_EXERCISES: dict[str, Exercise] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def register(exercise: Exercise, *, replace: bool = False) -> Exercise:
    """Add an exercise to the registry (``replace=True`` to put a new one in place of one of the same name).

    The exercise is checked first: its name, its kind, a stub of the same kind, the weights of its items.
    Returns the exercise.
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register: expected an Exercise, got {type(exercise).__name__}")
    if not _NAME.match(exercise.name):
        raise ValueError(
            f"register: an exercise name is lower case letters, digits, '_' and '-', starting with a letter, "
            f"got {exercise.name!r}"
        )
    if exercise.name in _EXERCISES and not replace:
        raise ValueError(f"register: an exercise named {exercise.name!r} exists; pass replace=True to replace it")
    kind = exercise.kind
    if kind == "function":
        if not callable(exercise.reference) or not callable(exercise.stub):
            raise TypeError(
                f"register: {exercise.name!r}: reference and stub must be Layer or Loss classes, or functions"
            )
        if not exercise.outputs:
            raise ValueError(f"register: {exercise.name!r} is a function exercise: name its outputs (outputs=...)")
        unknown = set(exercise.wrt) - set(exercise.outputs)
        if unknown:
            raise ValueError(f"register: {exercise.name!r}: wrt names outputs {sorted(unknown)} it does not have")
    else:
        base = Layer if kind == "layer" else Loss
        if not (inspect.isclass(exercise.stub) and issubclass(exercise.stub, base)):
            raise TypeError(f"register: {exercise.name!r}: the reference is a {base.__name__}, so must the stub be")
    exercise.weights()  # the items and their weights are valid
    _EXERCISES[exercise.name] = exercise
    return exercise


def unregister(name: str) -> None:
    """Remove an exercise from the registry (a KeyError names the known ones if there is none of that name)."""
    get(name)
    del _EXERCISES[name]


def get(name: str) -> Exercise:
    """The exercise of that name; a KeyError lists the names there are."""
    try:
        return _EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise named {name!r}; the exercises are {names()}") from None


def names() -> list[str]:
    """The names of the registered exercises, in the order they were registered."""
    return list(_EXERCISES)
