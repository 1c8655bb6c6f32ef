r"""Seeing backpropagation: a model's summary, a trace of every chain-rule step,
Jacobians built from backward, the health of a batch, and what the caches cost.

- :func:`summarize` (``model.summary(input_shape)``): the layers, their output
  shapes, parameter counts and caches.
- :func:`explain`: one forward and backward pass, one row per chain-rule step
  in the order backward runs, from the loss to the input.
- :func:`jacobian`: the full Jacobian of a layer by one backward per unit
  vector, beside the finite-difference Jacobian.
- :func:`health` (``model.health(X, Y)``): saturated and dead units,
  update/weight ratios, the largest logit, overflow.
- :func:`cache_report` (``model.cache_report()``): the arrays each layer holds
  for its backward, with shapes and bytes.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import activations
from .layer import HookHandle, Layer
from .losses import Loss, MSELoss

__all__ = [
    "CacheReport",
    "Health",
    "JacobianResult",
    "Summary",
    "Trace",
    "TraceRow",
    "cache_report",
    "explain",
    "health",
    "jacobian",
    "summarize",
]


# -- walking a model ----------------------------------------------------------------------------


def named_layers(
    model: Layer, prefix: str = "", depth: int = 0, _ancestors: frozenset[int] = frozenset()
) -> Iterator[tuple[str, Layer, int]]:
    """Yield ``(dotted_path, layer, depth)`` for ``model``'s descendants in
    pre-order (a Sequential's layers in forward order), the model itself not
    included; a reference from a layer back to one that contains it is skipped."""
    ancestors = _ancestors | {id(model)}
    for name, child in model.named_children():
        if id(child) in ancestors:
            continue
        path = f"{prefix}{name}"
        yield path, child, depth
        yield from named_layers(child, f"{path}.", depth + 1, ancestors)


def named_leaves(model: Layer) -> list[tuple[str, Layer]]:
    """The layers without children, in pre-order; ``[("", model)]`` for a model that is one layer."""
    leaves: list[tuple[str, Layer]] = []
    seen: set[int] = set()

    def visit(path: str, layer: Layer, ancestors: frozenset[int]) -> None:
        ancestors = ancestors | {id(layer)}
        # a reference back to a containing layer does not make a layer a container
        children = [(name, child) for name, child in layer.named_children() if id(child) not in ancestors]
        if not children:
            if id(layer) not in seen:  # a shared layer once, at its first place
                seen.add(id(layer))
                leaves.append((path, layer))
            return
        for name, child in children:
            visit(f"{path}.{name}" if path else name, child, ancestors)

    visit("", model, frozenset())
    return leaves


@contextlib.contextmanager
def kept_state(model: Layer, mode: bool | None = None) -> Iterator[None]:
    """Run a diagnostic pass that leaves no trace but gradients and caches:
    every layer's buffers (running statistics), random generators (dropout
    masks) and train/eval mode are restored on exit. ``mode``: ``False`` runs
    the pass in eval mode, ``True`` in training mode, ``None`` as the model is."""
    layers = [model, *(layer for _, layer, _ in named_layers(model))]
    buffers = [(layer, name, copy.deepcopy(getattr(layer, name))) for layer in layers for name in layer.buffer_names]
    found = {
        id(item): item
        for layer in layers
        for value in vars(layer).values()
        for item in (
            value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        )
        if isinstance(item, np.random.Generator)
    }  # a generator held directly or in a list, tuple or dict attribute, each once
    generators = [(value, copy.deepcopy(value.bit_generator.state)) for value in found.values()]
    modes = [(layer, layer.training) for layer in layers]
    try:
        if mode is not None:
            model.train(mode)
        yield
    finally:
        for layer, name, value in buffers:
            setattr(layer, name, value)
        for generator, state in generators:
            generator.bit_generator.state = state
        for layer, training in modes:
            layer.training = training


def record_outputs(model: Layer, x: Any, layers: Sequence[Layer]) -> dict[int, Any]:
    """Run ``model(x)`` once in eval mode (modes, buffers and generators put back
    after) and return the output of each of ``layers``, keyed by ``id(layer)``."""
    outputs: dict[int, Any] = {}

    def record(layer: Layer, inputs: tuple[Any, ...], output: Any) -> None:
        outputs[id(layer)] = output

    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        with kept_state(model, mode=False):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def _label(path: str, layer: Layer) -> str:
    return f"{path} {type(layer).__name__}" if path else type(layer).__name__


def _short_repr(layer: Layer) -> str:
    return f"{type(layer).__name__}({layer.extra_repr()})"


def _own_parameters(layer: Layer) -> list[Any]:
    in_children = {id(p) for child in layer.children() for p in child.parameters()}
    return [p for p in layer.parameters() if id(p) not in in_children]


def _cached_arrays(layer: Layer) -> list[tuple[str, NDArray[Any]]]:
    """The array attributes a layer holds that are neither parameters nor buffers:
    what its forward cached for its backward."""
    buffers = set(layer.buffer_names)
    return [
        (name, value) for name, value in vars(layer).items() if isinstance(value, np.ndarray) and name not in buffers
    ]


def _format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GiB"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str | list[str]]]) -> str:
    """A plain-text table; a cell given as a list of strings spans several lines."""
    cells = [[c if isinstance(c, list) else [c] for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max([widths[i], *(len(line) for line in cell)])
    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), rule]
    for row in cells:
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join(parts).rstrip())
    lines.append(rule)
    return "\n".join(lines)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str | list[str]]]) -> str:
    def cell(c: str | list[str]) -> str:
        text = "<br>".join(c) if isinstance(c, list) else c
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _scalar_loss(loss_fn: Loss, pred: Any, Y: Any) -> float:
    value = loss_fn(pred, Y)
    if np.ndim(value) != 0:
        raise ValueError(
            f"{type(loss_fn).__name__}: the pass needs a loss reduced to one number "
            f"(reduction 'mean' or 'sum'), got reduction={getattr(loss_fn, 'reduction', None)!r}"
        )
    return float(value)


def _norm(array: Any) -> float:
    return float(np.linalg.norm(np.ravel(np.asarray(array, dtype=np.float64))))


# -- summary ------------------------------------------------------------------------------------


@dataclass
class SummaryRow:
    """One layer of a :class:`Summary`: ``params`` counts its own parameters
    (not its children's; a shared parameter is counted where it first appears)."""

    index: str
    layer: str
    depth: int
    output_shape: tuple[int, ...] | None
    params: int
    caches: list[tuple[str, tuple[int, ...], int]]  # (attribute, shape, bytes)


@dataclass
class Summary:
    """What :func:`summarize` found; ``str(summary)`` is the table."""

    model: str
    input_shape: tuple[int, ...]
    rows: list[SummaryRow]
    total_params: int
    param_bytes: int
    cache_bytes: int

    def __str__(self) -> str:
        body: list[list[str | list[str]]] = []
        for row in self.rows:
            caches = [f"{name} {shape}" for name, shape, _ in row.caches] or ["—"]
            shape = str(row.output_shape) if row.output_shape is not None else "(not called)"
            body.append([row.index, "  " * row.depth + row.layer, shape, f"{row.params:,}", caches])
        table = _table(["#", "Layer (arguments)", "Output shape", "Params", "Caches for backward"], body)
        return (
            f"{self.model}, input {self.input_shape}\n{table}\n"
            f"Total params: {self.total_params:,} ({_format_bytes(self.param_bytes)})\n"
            f"Cached by one forward pass: {_format_bytes(self.cache_bytes)}"
        )


def summarize(model: Layer, input_shape: Sequence[int]) -> Summary:
    """Run one forward pass on a batch of ``input_shape`` and describe each layer.

    The batch is standard normal (seed 0), in the dtype of the model's first
    parameter (float64 without parameters). The pass runs in eval mode (so no
    running statistic changes) and every layer's mode is restored afterwards.
    Rows list every layer below the model, in pre-order, nested ones indented.

    Args:
        model: the layer or container to describe.
        input_shape: the shape of one input batch, batch first, e.g. ``(8, 3)``.

    Returns:
        a :class:`Summary`; ``str()`` of it is the table that
        ``model.summary(input_shape)`` returns.

    Example:
        >>> model = Sequential(Linear(3, 4, bias=False, rng=0), Sigmoid())
        >>> summarize(model, (8, 3)).total_params
        12
    """
    input_shape = tuple(int(n) for n in input_shape)
    first = next(model.parameters(), None)
    dtype = first.data.dtype if first is not None else np.float64
    x = np.random.default_rng(0).standard_normal(input_shape).astype(dtype)
    layers = [("", model, -1), *named_layers(model)]
    outputs = record_outputs(model, x, [layer for _, layer, _ in layers])
    shapes = {key: tuple(np.shape(output)) for key, output in outputs.items()}

    rows: list[SummaryRow] = []
    seen: set[int] = set()
    cache_bytes = 0
    described = layers[1:] if len(layers) > 1 else [("0", model, 0)]  # a model that is one layer: one row
    for path, layer, depth in described:
        own = [p for p in _own_parameters(layer) if id(p) not in seen]
        seen.update(id(p) for p in own)
        caches = [(name, a.shape, a.nbytes) for name, a in _cached_arrays(layer)]
        cache_bytes += sum(nbytes for _, _, nbytes in caches)
        rows.append(
            SummaryRow(path, _short_repr(layer), depth, shapes.get(id(layer)), sum(p.size for p in own), caches)
        )
    params = list(model.parameters())
    return Summary(
        model=type(model).__name__,
        input_shape=input_shape,
        rows=rows,
        total_params=sum(p.data.size for p in params),
        param_bytes=sum(p.data.nbytes for p in params),
        cache_bytes=cache_bytes,
    )


# -- the backprop trace -------------------------------------------------------------------------


_PARAMETER_SYMBOLS = {"W": "weight", "b": "bias"}


def _applied_text(text: str, layer: Layer) -> str:
    """The part of a ``local_derivative`` text that applies to this instance.

    - A layer built without a bias (or weight) loses the clause ``∂L/∂b = …``
      (``∂L/∂W = …``).
    - A layer whose clauses are tagged ``(training)`` / ``(eval)`` keeps the
      one of its mode.
    - A loss keeps the clause written for its own reduction, e.g.
      ``"half_batch_mean: ∂L/∂ŷ = (ŷ − Y)/N"``, and drops those of the others;
      when no clause is written for its reduction, the unreduced derivative
      ``∂ℓ/∂…`` is followed by the reduction's own factor ∂L/∂ℓ.
    """
    clauses = text.split(";  ")
    reductions = tuple(getattr(layer, "reductions", ()))
    reduction = getattr(layer, "reduction", None)
    mode = "training" if layer.training else "eval"
    tags: list[str] = [reduction, mode] if reductions and isinstance(reduction, str) else [mode]
    for tag in tags:
        for clause in clauses:
            if clause.startswith(f"{tag}: "):
                return clause[len(tag) + 2 :]
            if clause.rstrip().endswith(f"({tag})"):  # the "lhs = rhs  (tag);  rhs  (other tag)" form
                lhs = clauses[0].split(" = ")[0] if " = " in clauses[0] else ""
                rhs = clause.rstrip()[: -len(f"({tag})")].strip().split(" = ")[-1]
                return f"{lhs} = {rhs}" if lhs else rhs
    if reductions and reduction is not None:
        kept = [c for c in clauses if not any(c.startswith(f"{r}: ") for r in reductions)]
        factor = {"mean": "∂L/∂ℓ = 1/M, M the number of terms (mean)", "sum": "∂L/∂ℓ = 1 (sum)"}
        return ";  ".join(kept + [factor.get(reduction, f"∂L/∂ℓ = grad_output ({reduction})")])
    kept = []
    for clause in clauses:
        match = re.match(r"\s*∂L/∂(\w+) =", clause)
        attribute = _PARAMETER_SYMBOLS.get(match.group(1)) if match else None
        if attribute is not None and hasattr(layer, attribute) and getattr(layer, attribute) is None:
            continue
        kept.append(clause)
    return ";  ".join(kept)


def _with_names(text: str, names: dict[str, str]) -> str:
    """Write the derivative text with the network's own names: ``x`` (input),
    ``y`` (output) and ``g`` (the gradient that arrived) as whole symbols."""
    pattern = re.compile(r"(?<![A-Za-z0-9])([" + "".join(names) + r"])(?![A-Za-z0-9\u0300-\u036f])")
    return pattern.sub(lambda m: names[m.group(1)], text)


@dataclass
class ParamGrad:
    """A parameter's gradient as one chain-rule step added it."""

    name: str
    grad: NDArray[np.floating]
    symbol: str | None = None  # the name given in explain(..., param_names=...)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.grad.shape)

    @property
    def norm(self) -> float:
        return _norm(self.grad)


@dataclass
class TraceRow:
    """One chain-rule step: the layer turned ``grad_output`` = ∂L/∂(its output)
    into ``grad_input`` = ∂L/∂(its input) by applying ``local_derivative``, and
    added ``params``' gradients. For the loss row, ``grad_output`` is ∂L/∂L = 1.

    Attributes:
        step: 1 for the loss, then 2, 3, ... in the order backward ran.
        name: the layer's dotted path in the model (``"loss"`` for the loss).
        layer: the layer's repr.
        local_derivative: the layer's ``local_derivative`` text, ``None`` when
            its class sets none.
        formula: the text shown: ``local_derivative`` written with the names
            given to :func:`explain` (x → the input's name, y → the output's,
            g → ∂L/∂output), or a note that the layer gives no formula.
        output_name, input_name: the names of the layer's output and input
            (``None`` without names).
        joined: ``True`` when the gradient that arrived is not the one the
            previous row passed on: a container combined it with another path
            (e.g. a Residual adds the skip connection's gradient).
    """

    step: int
    name: str
    layer: str
    local_derivative: str | None
    formula: str
    grad_output: NDArray[np.floating]
    grad_input: NDArray[np.floating]
    params: list[ParamGrad] = field(default_factory=list)
    output_name: str | None = None
    input_name: str | None = None
    joined: bool = False

    @property
    def documented(self) -> bool:
        """Whether the layer's class states its local derivative."""
        return self.local_derivative is not None

    @property
    def grad_output_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.grad_output))

    @property
    def grad_input_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.grad_input))

    @property
    def grad_output_norm(self) -> float:
        return _norm(self.grad_output)

    @property
    def grad_input_norm(self) -> float:
        return _norm(self.grad_input)

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (shapes and norms, no arrays)."""
        return {
            "step": self.step,
            "name": self.name,
            "layer": self.layer,
            "local_derivative": self.local_derivative,
            "formula": self.formula,
            "output_name": self.output_name,
            "input_name": self.input_name,
            "grad_output_shape": self.grad_output_shape,
            "grad_input_shape": self.grad_input_shape,
            "grad_output_norm": self.grad_output_norm,
            "joined": self.joined,
            "grad_input_norm": self.grad_input_norm,
            "params": [{"name": p.name, "shape": p.shape, "norm": p.norm} for p in self.params],
        }

    def _cells(self) -> list[str | list[str]]:
        def grad(name: str | None, shape: tuple[int, ...]) -> str:
            return f"∂L/∂{name} {shape}" if name else str(shape)

        arrived = grad(self.output_name, self.grad_output_shape) + (" (+ other paths)" if self.joined else "")
        arrow = f"{arrived} → {grad(self.input_name, self.grad_input_shape)}"
        params = [f"{p.symbol or p.name} {p.shape} ‖·‖={p.norm:.4g}" for p in self.params] or ["—"]
        return [
            str(self.step),
            self.layer if self.name == "loss" else f"{self.name}: {self.layer}",
            self.formula.split(";  "),
            arrow,
            f"{self.grad_input_norm:.4g}",
            params,
        ]


_HEADERS = ["step", "layer", "local derivative applied", "gradient in → out", "‖out‖", "parameter gradients"]


@dataclass
class Trace:
    """What :func:`explain` recorded: ``rows`` in the order backward ran.

    ``str(trace)`` is a table, :meth:`to_markdown` the same as Markdown,
    ``trace[i]``, ``len(trace)`` and iteration give the :class:`TraceRow`s,
    :meth:`to_dicts` plain data.
    """

    loss: float
    rows: list[TraceRow]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[TraceRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> TraceRow:
        return self.rows[index]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [row.as_dict() for row in self.rows]

    def _footer(self) -> str:
        notes = [f"loss L = {self.loss:.6g}; ‖out‖ is the norm of the gradient each step passes on"]
        unnamed = [row.formula for row in self.rows if row.output_name is None and row.name != "loss"]
        if any(re.search(r"(?<![A-Za-z])[gxy](?![A-Za-z])", formula) for formula in unnamed):
            notes.append("g = ∂L/∂(the layer's output), the gradient that arrived; x its input, y its output")
        missing = [row.name for row in self.rows if not row.documented]
        if missing:
            notes.append(f"marked (no local_derivative text on the class): {', '.join(missing)}")
        return "\n".join(notes)

    def __str__(self) -> str:
        return f"{_table(_HEADERS, [row._cells() for row in self.rows])}\n{self._footer()}"

    def to_markdown(self) -> str:
        body = _markdown_table(_HEADERS, [row._cells() for row in self.rows])
        return body + "\n\n" + self._footer().replace("\n", "  \n")


def explain(
    model: Layer,
    loss_fn: Loss,
    X: ArrayLike,
    Y: ArrayLike,
    names: Sequence[str] | None = None,
    param_names: Mapping[str, str] | None = None,
) -> Trace:
    """Run one forward and backward pass and record every chain-rule step.

    The model's gradients are zeroed first, so afterwards every ``.grad`` holds
    this batch's gradient; the pass runs in the model's current mode and leaves
    its buffers and random generators as they were. One row per step in the order backward runs: the
    loss first (step 1), then each layer without children as its ``backward``
    returns, down to the input. A layer whose class sets no
    ``local_derivative`` still gets its row, marked as such.

    Args:
        model: the network (a layer or a container).
        loss_fn: the loss; ``loss_fn(model(X), Y)`` is the pass traced.
        X: the input batch.
        Y: the target.
        names: optional names of the values along a chain: the input, then
            the output of each layer in forward order (``len(names)`` is the
            number of layer calls plus one). The derivative texts are then
            written with them: for the derivation's network,
            ``names=("X", "H", "Z", "O", "ŷ")`` turns Sigmoid's
            ``∂y/∂x = y ⊙ (1 − y)`` into ``∂Z/∂H = Z ⊙ (1 − Z)``.
        param_names: optional symbols of parameters by their dotted name in
            ``model.named_parameters()``, e.g. ``{"0.weight": "W1"}``; the
            layer's formula then writes ``W1`` for its ``W``.

    Returns:
        a :class:`Trace`.

    Example:
        >>> from minnet.derivation import build_network, make_data
        >>> X, Y = make_data()
        >>> trace = explain(build_network(0), MSELoss(), X, Y, names=("X", "H", "Z", "O", "ŷ"))
        >>> trace[1].formula
        '∂ŷ/∂O = ŷ ⊙ (1 − ŷ)'
        >>> trace[4].grad_input_shape
        (8, 3)
    """
    leaves = named_leaves(model)
    calls: list[tuple[Layer, Any, Any]] = []  # (layer, input, output) in forward order
    rows: list[TraceRow] = []
    last_grad: dict[int, NDArray[np.floating]] = {}
    value_names: dict[int, str] = {}
    call_of_backward: dict[int, list[tuple[Layer, Any, Any]]] = {}

    def on_forward(layer: Layer, inputs: tuple[Any, ...], output: Any) -> None:
        calls.append((layer, inputs[0] if inputs else None, output))

    def on_backward(layer: Layer, grad_output: Any, grad_input: Any) -> None:
        path = paths[id(layer)]
        params, symbols = [], {}
        for name, p in layer.named_parameters():
            before = last_grad.get(id(p), np.zeros_like(p.grad))
            full_name = f"{path}.{name}" if path else name
            symbol = (param_names or {}).get(full_name)
            params.append(ParamGrad(full_name, p.grad - before, symbol))
            last_grad[id(p)] = p.grad.copy()
            letter = {v: k for k, v in _PARAMETER_SYMBOLS.items()}.get(name)
            if symbol and letter:
                symbols[letter] = symbol
        stack = call_of_backward.get(id(layer))
        call = stack.pop() if stack else None  # backward meets a layer's calls in reverse order
        output_name = input_name = None
        if call is not None:
            output_name, input_name = value_names.get(id(call[2])), value_names.get(id(call[1]))
        text = getattr(layer, "local_derivative", None)
        if text is None:
            formula = f"(not given: {type(layer).__name__} sets no local_derivative)"
        elif output_name and input_name:
            names = {"x": input_name, "y": output_name, "g": f"∂L/∂{output_name}", **symbols}
            formula = _with_names(_applied_text(text, layer), names)
        else:
            formula = _with_names(_applied_text(text, layer), symbols) if symbols else _applied_text(text, layer)
        rows.append(
            TraceRow(
                len(rows) + 1,
                path or "0",
                _short_repr(layer),  # a leaf: its repr, without a reference back to a container
                text,
                formula,
                np.array(grad_output, copy=True),
                np.array(grad_input, copy=True),
                params,
                output_name,
                input_name,
            )
        )

    paths = {id(layer): path for path, layer in leaves}
    handles: list[HookHandle] = []
    for _, layer in leaves:
        handles.append(layer.register_forward_hook(on_forward))
        handles.append(layer.register_backward_hook(on_backward))
    try:
        with kept_state(model):
            model.zero_grad()
            pred = model(X)
            loss = _scalar_loss(loss_fn, pred, Y)
        if names is not None:
            names = list(names)
            if len(names) != len(calls) + 1:
                raise ValueError(
                    f"explain: names must name the input and the output of each of the {len(calls)} layer calls "
                    f"({len(calls) + 1} names), got {len(names)}"
                )
            value_names[id(X)] = names[0]
            for (_, _, output), name in zip(calls, names[1:], strict=True):
                value_names[id(output)] = name
        for call in calls:
            call_of_backward.setdefault(id(call[0]), []).append(call)
        g = loss_fn.backward()
        pred_name = value_names.get(id(pred))
        loss_text = getattr(loss_fn, "local_derivative", None)
        rows.append(
            TraceRow(
                1,
                "loss",
                repr(loss_fn),
                loss_text,
                _applied_text(loss_text, loss_fn)
                if loss_text
                else f"(not given: {type(loss_fn).__name__} sets no local_derivative)",
                np.ones(()),
                np.array(g, copy=True),
                [],
                "L" if pred_name else None,
                pred_name,
            )
        )
        model.backward(g)
    finally:
        for handle in handles:
            handle.remove()
    for before, row in zip(rows[:-1], rows[1:], strict=True):
        same = np.shape(before.grad_input) == np.shape(row.grad_output)
        row.joined = not (same and np.array_equal(before.grad_input, row.grad_output))
    return Trace(loss, rows)


# -- Jacobians ------------------------------------------------------------------------------------


def _order_of(difference: float) -> str:
    """``"< 1e-12"`` for 3.1e-13: the power of ten above a finite-difference error, whose
    own digits are rounding noise that differs between machines (exact value: ``max_abs_diff``)."""
    if difference == 0.0:
        return "0"
    return f"< 1e{math.floor(math.log10(difference)) + 1:+03d}"


@dataclass
class JacobianPair:
    """The Jacobian of the output with respect to one tensor, of shape
    ``(output.size, tensor.size)``: ``analytic`` row j is what backward returns
    for the unit vector e_j; ``numeric`` is by central differences."""

    name: str
    shape: tuple[int, ...]
    analytic: NDArray[np.float64]
    numeric: NDArray[np.float64]

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.analytic - self.numeric), initial=0.0))


@dataclass
class JacobianResult:
    """What :func:`jacobian` computed: ``input`` and ``params`` (by name)."""

    output_shape: tuple[int, ...]
    input: JacobianPair
    params: dict[str, JacobianPair]

    def __iter__(self) -> Iterator[JacobianPair]:
        yield self.input
        yield from self.params.values()

    def __str__(self) -> str:
        blocks = []
        for pair in self:
            # rounded for display, so finite-difference noise of 1e-13 prints as 0, not −0
            left = np.array2string(np.round(pair.analytic, 10) + 0.0, precision=4, suppress_small=True).splitlines()
            right = np.array2string(np.round(pair.numeric, 10) + 0.0, precision=4, suppress_small=True).splitlines()
            width = max(max(len(line) for line in left), len("backward, one unit vector per row"))
            lines = [
                f"∂y/∂{pair.name}: output {self.output_shape} × {pair.name} {pair.shape} "
                f"-> J of shape {pair.analytic.shape}; largest difference {_order_of(pair.max_abs_diff)}",
                f"  {'backward, one unit vector per row'.ljust(width)}   finite differences",
            ]
            lines += [f"  {a.ljust(width)}   {b}" for a, b in zip(left, right, strict=True)]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def jacobian(layer: Layer, x: ArrayLike, *, step: float = 1e-4) -> JacobianResult:
    r"""The full Jacobian of ``layer(x)`` with respect to ``x`` and each parameter.

    Built by running ``backward`` once per unit vector: with ``e_j`` the j-th
    unit vector of the output's shape, ``backward(e_j)`` returns ``e_jᵀ J``,
    row j of ∂y/∂x, and leaves row j of ∂y/∂p in each ``p.grad``. Beside it,
    the finite-difference Jacobian (five-point central differences, float64).
    A backward pass never builds J: it computes Jᵀ·g directly, which for an
    elementwise activation is a diagonal J applied as a product, and for
    Linear a block structure applied as one matrix product.

    The layer's parameter gradients are restored and its caches left from
    ``x`` afterwards. Meant for a small input: output size × input size must
    stay under a million.

    Args:
        layer: a layer taking one array (not a loss).
        x: the input, converted to float64; the parameters must be float64.
        step: the finite-difference step h, scaled by ``max(1, |v|)``.

    Returns:
        a :class:`JacobianResult`; ``str()`` of it shows each analytic Jacobian
        beside its numeric one.

    Example:
        >>> J = jacobian(Sigmoid(), np.array([[0.0, 1.0]]))
        >>> np.round(J.input.analytic, 4)
        array([[0.25  , 0.    ],
               [0.    , 0.1966]])
    """
    if isinstance(layer, Loss):
        raise TypeError(f"jacobian: {type(layer).__name__} is a loss (a scalar output); use gradcheck for it")
    x = np.array(x, dtype=np.float64, copy=True)
    params = list(layer.named_parameters())
    for name, p in params:
        if p.data.dtype != np.float64:
            raise TypeError(f"jacobian: parameter {name!r} has dtype {p.data.dtype}; finite differences need float64")
    output = np.asarray(layer(x))
    m = output.size
    if m * max(x.size, max((p.size for _, p in params), default=0)) > 1_000_000:
        raise ValueError(f"jacobian: output {output.shape} and input {x.shape} are too large for a full Jacobian")

    saved = [p.grad.copy() for _, p in params]
    J_x = np.zeros((m, x.size))
    J_p = [np.zeros((m, p.size)) for _, p in params]
    try:
        for j in range(m):
            for _, p in params:
                p.grad[...] = 0
            unit = np.zeros(output.shape)
            unit.flat[j] = 1.0
            J_x[j] = np.ravel(layer.backward(unit))
            for k, (_, p) in enumerate(params):
                J_p[k][j] = p.grad.ravel()
    finally:
        for (_, p), grad in zip(params, saved, strict=True):
            p.grad[...] = grad

    def f() -> NDArray[np.float64]:
        return np.ravel(np.asarray(layer(x), dtype=np.float64))

    result = JacobianResult(
        tuple(output.shape),
        JacobianPair("x", tuple(x.shape), J_x, _numeric_jacobian(f, x, m, step)),
        {
            name: JacobianPair(name, tuple(p.shape), J_p[k], _numeric_jacobian(f, p.data, m, step))
            for k, (name, p) in enumerate(params)
        },
    )
    layer(x)  # leave the caches of x behind
    return result


def _numeric_jacobian(
    f: Callable[[], NDArray[np.float64]], array: NDArray[np.floating], m: int, step: float
) -> NDArray[np.float64]:
    J = np.zeros((m, array.size))
    for k, index in enumerate(np.ndindex(array.shape)):
        original = array[index]
        h = step * max(1.0, abs(float(original)))
        values = []
        for offset in (2 * h, h, -h, -2 * h):
            array[index] = original + offset
            values.append(f())
        array[index] = original
        J[:, k] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return J


# -- health of a batch ----------------------------------------------------------------------------


def _activation_kind(layer: Layer) -> str | None:
    for name in ("Sigmoid", "Tanh", "ReLU"):
        cls = getattr(activations, name, None)
        if cls is not None and type(layer) is cls:
            return name
    return None


@dataclass
class LayerHealth:
    """One layer's units on the batch.

    Attributes:
        saturated: for Sigmoid and Tanh, the share of outputs within 0.01 of
            the bounds (σ' < 0.0099, tanh' < 0.02): units whose local
            derivative lets almost no gradient through. ``None`` otherwise.
        dead: for ReLU, the share of units (features) that are zero for every
            sample of the batch: they pass no gradient at all. ``None`` otherwise.
        nonfinite: ``"output"`` or ``"gradient"`` if inf or NaN appeared there.
    """

    name: str
    layer: str
    saturated: float | None = None
    dead: float | None = None
    nonfinite: list[str] = field(default_factory=list)


@dataclass
class ParamHealth:
    """``update_ratio = ‖lr · grad‖ / ‖weight‖``: how far one plain SGD step
    moves the parameter relative to its size (around 1e-3 is the usual
    healthy value; far above, training is unstable; far below, it crawls)."""

    name: str
    shape: tuple[int, ...]
    grad_norm: float
    weight_norm: float
    update_ratio: float


@dataclass
class Health:
    """What :func:`health` found; ``str()`` is a report, ``notes`` the warnings."""

    loss: float
    lr: float
    layers: list[LayerHealth]
    params: list[ParamHealth]
    largest_logit: float | None
    overflow: list[str]

    @property
    def notes(self) -> list[str]:
        notes = []
        for h in self.layers:
            if h.saturated is not None and h.saturated > 0.5:
                notes.append(f"{h.name} {h.layer}: {h.saturated:.0%} of units saturated, little gradient passes")
            if h.dead is not None and h.dead > 0.5:
                notes.append(f"{h.name} {h.layer}: {h.dead:.0%} of units dead on this batch")
        for p in self.params:
            if 1e-1 < p.update_ratio < float("inf"):
                notes.append(f"{p.name}: one step changes it by {p.update_ratio:.0%} of its size (lr too large?)")
        if self.largest_logit is not None and self.largest_logit > 30:
            notes.append(f"largest logit {self.largest_logit:.3g}: the softmax is saturated")
        notes += [f"overflow: {o}" for o in self.overflow]
        return notes

    def __str__(self) -> str:
        def share(v: float | None) -> str:
            return "—" if v is None else f"{v:.1%}"

        layer_rows = [
            [h.name, h.layer, share(h.saturated), share(h.dead), ", ".join(h.nonfinite) or "—"] for h in self.layers
        ]
        param_rows = [
            [p.name, str(p.shape), f"{p.grad_norm:.3e}", f"{p.weight_norm:.3e}", f"{p.update_ratio:.2e}"]
            for p in self.params
        ]
        parts = [
            f"loss {self.loss:.6g}",
            _table(["#", "layer", "saturated", "dead", "inf/nan"], layer_rows),
            f"update/weight ratio for one SGD step with lr={self.lr:g}",
            _table(["parameter", "shape", "‖grad‖", "‖weight‖", "‖lr·grad‖/‖weight‖"], param_rows),
        ]
        if self.largest_logit is not None:
            parts.append(f"largest |logit| into the cross-entropy: {self.largest_logit:.4g}")
        parts.append(f"overflow: {'; '.join(self.overflow) if self.overflow else 'none seen'}")
        if self.notes:
            parts.append("notes:\n" + "\n".join(f"  - {n}" for n in self.notes))
        return "\n".join(parts)


def health(model: Layer, X: ArrayLike, Y: ArrayLike, loss_fn: Loss | None = None, lr: float = 0.01) -> Health:
    """Run one batch forward and backward and report how well gradient flows.

    Per layer: the share of saturated Sigmoid/Tanh outputs and of dead ReLU
    units, and whether inf or NaN appeared in its output or gradient. Per
    parameter: the ratio of one SGD update ``lr · grad`` to the weight, by
    norm. The largest logit fed to a cross-entropy loss, and any floating-point
    overflow, division by zero or invalid operation numpy met. The model's
    gradients are zeroed first and hold this batch's gradient afterwards; its
    buffers and random generators are left as they were.

    Args:
        model: the network.
        X: the input batch.
        Y: the target.
        loss_fn: the loss (default ``MSELoss()``).
        lr: the learning rate of the update/weight ratio.

    Returns:
        a :class:`Health`; ``str()`` of it is the report, ``.notes`` the warnings.

    Example:
        >>> model = Sequential(Linear(2, 3, rng=0), Sigmoid())
        >>> report = health(model, 100 * np.ones((4, 2)), np.zeros((4, 3)))
        >>> report.layers[1].saturated
        1.0
    """
    loss_fn = MSELoss() if loss_fn is None else loss_fn
    reports: dict[int, LayerHealth] = {}
    handles: list[HookHandle] = []
    overflow: list[str] = []
    phase = ["forward"]

    def on_forward(layer: Layer, inputs: tuple[Any, ...], output: Any) -> None:
        report, y = reports[id(layer)], np.asarray(output)
        if not np.all(np.isfinite(y)):
            report.nonfinite.append("output")
        kind = _activation_kind(layer)
        if kind == "Sigmoid":
            report.saturated = float(np.mean((y < 0.01) | (y > 0.99)))
        elif kind == "Tanh":
            report.saturated = float(np.mean(np.abs(y) > 0.99))
        elif kind == "ReLU" and y.ndim >= 1 and y.shape[0] > 0:
            report.dead = float(np.mean(np.all(y <= 0, axis=0)))

    def on_backward(layer: Layer, grad_output: Any, grad_input: Any) -> None:
        if not np.all(np.isfinite(np.asarray(grad_input))):
            reports[id(layer)].nonfinite.append("gradient")

    def on_error(kind: str, flag: int) -> None:
        message = f"floating-point {kind} during the {phase[0]} pass"
        if message not in overflow:
            overflow.append(message)

    for path, layer in named_leaves(model):
        reports[id(layer)] = LayerHealth(path or "0", _short_repr(layer))
        handles.append(layer.register_forward_hook(on_forward))
        handles.append(layer.register_backward_hook(on_backward))
    old_call = np.seterrcall(on_error)
    try:
        with np.errstate(over="call", divide="call", invalid="call"), kept_state(model):
            model.zero_grad()
            pred = model(X)
            loss = _scalar_loss(loss_fn, pred, Y)
            phase[0] = "backward"
            model.backward(loss_fn.backward())
    finally:
        np.seterrcall(old_call)
        for handle in handles:
            handle.remove()
    if not np.isfinite(loss):
        overflow.append(f"the loss is {loss}")
    params = []
    for name, p in model.named_parameters():
        weight_norm, grad_norm = _norm(p.data), _norm(p.grad)
        ratio = lr * grad_norm / weight_norm if weight_norm > 0 else float("inf") if grad_norm > 0 else 0.0
        params.append(ParamHealth(name, tuple(p.shape), grad_norm, weight_norm, ratio))
    loss_name = type(loss_fn).__name__
    takes_logits = "CrossEntropy" in loss_name or "Logits" in loss_name
    largest = float(np.max(np.abs(pred))) if takes_logits and np.size(pred) else None
    return Health(loss, lr, list(reports.values()), params, largest, overflow)


# -- what backprop keeps in memory ------------------------------------------------------------------


@dataclass
class CacheEntry:
    """One cached array: the layer's path, the attribute, its shape, dtype and bytes."""

    layer_path: str
    layer: str
    attribute: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass
class CacheReport:
    """What :func:`cache_report` found; ``str()`` is a table with the total."""

    entries: list[CacheEntry]
    empty_layers: list[str]

    @property
    def total_bytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    def __str__(self) -> str:
        rows = [
            [e.layer_path, e.layer, e.attribute, str(e.shape), e.dtype, _format_bytes(e.nbytes)] for e in self.entries
        ]
        text = _table(["#", "layer", "cache", "shape", "dtype", "bytes"], rows)
        text += f"\ntotal held for backward: {_format_bytes(self.total_bytes)}"
        if self.empty_layers:
            text += f"\nholding nothing: {', '.join(self.empty_layers)}"
        return text


def cache_report(model: Layer) -> CacheReport:
    """The arrays each layer holds now for its backward: every array attribute
    that is neither a parameter nor a buffer (Linear its input, Sigmoid its
    output, ...), with shape, dtype and bytes. Run a forward pass first; before
    one, the caches are ``None`` and the layers hold nothing.

    Example:
        >>> model = Sequential(Linear(3, 4, rng=0), Sigmoid())
        >>> _ = model(np.ones((8, 3)))
        >>> cache_report(model).total_bytes  # x (8, 3) and y (8, 4), float64
        448
    """
    entries, empty = [], []
    for path, layer in named_leaves(model):
        arrays = _cached_arrays(layer)
        if not arrays:
            empty.append(_label(path, layer))
        for name, a in arrays:
            entries.append(CacheEntry(path or "0", _short_repr(layer), name, tuple(a.shape), str(a.dtype), a.nbytes))
    return CacheReport(entries, empty)
