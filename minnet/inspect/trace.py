"""``explain``: one forward and backward pass, one row per chain-rule step, from the loss to the input."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..nn.layer import Layer
from ..nn.loss import Loss
from ..nn.module import Derivatives, HookHandle, Module
from ..nn.snapshot import preserved
from .common import named_leaves, scalar_loss, short_repr
from .tables import _markdown_table, _norm, _table


def _formula(layer: Module, names: Mapping[str, str]) -> str:
    """The local derivatives ``layer`` applies, as ``"lhs = formula"`` clauses joined
    by ``";  "``, written with ``names`` (see :func:`_with_names`), or a note
    when its class gives none."""
    applied = layer.local_derivatives()
    if not applied:
        return f"(not given: {type(layer).__name__} sets no local_derivative)"
    return ";  ".join(_with_names(f"{lhs} = {formula}", names) for lhs, formula in applied.items())


def _with_names(text: str, names: Mapping[str, str]) -> str:
    """Write the derivative text with the network's own names: ``x`` (input),
    ``y`` (output), ``g`` (the gradient that arrived) and parameter symbols
    (``W``) are replaced where they stand as whole symbols, not inside a word."""
    if not names:
        return text
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
        local_derivative: the layer's ``local_derivative`` table, ``None`` when
            its class sets none.
        formula: the text shown: the formulas of the table that apply to the
            layer (:meth:`~minnet.nn.module.Module.local_derivatives`), each
            ``"lhs = formula"``, joined by ``";  "`` and written with the names
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
    local_derivative: Derivatives | None
    formula: str
    grad_output: NDArray[np.floating]
    grad_input: NDArray[np.floating] | None
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
        return () if self.grad_input is None else tuple(np.shape(self.grad_input))

    @property
    def grad_output_norm(self) -> float:
        return _norm(self.grad_output)

    @property
    def grad_input_norm(self) -> float:
        return float("nan") if self.grad_input is None else _norm(self.grad_input)

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
        passed_on = self.grad_input is not None  # None: integer indices (an embedding's), which have no gradient
        arrow = f"{arrived} → {grad(self.input_name, self.grad_input_shape) if passed_on else 'none (indices)'}"
        params = [f"{p.symbol or p.name} {p.shape} ‖·‖={p.norm:.4g}" for p in self.params] or ["—"]
        return [
            str(self.step),
            self.layer if self.name == "loss" else f"{self.name}: {self.layer}",
            self.formula.split(";  "),
            arrow,
            f"{self.grad_input_norm:.4g}" if passed_on else "—",
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

    The pass runs in the model's current mode and leaves no trace (see
    :func:`~minnet.nn.snapshot.preserved`): parameters, gradients, buffers,
    random generators and modes are as they were afterwards; each parameter's
    gradient from this batch is in the row of the step that added it. One row
    per step in the order backward runs: the loss first (step 1), then each
    layer without children as its ``backward`` returns, down to the input. A layer whose class sets no
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
    calls: list[tuple[Module, Any, Any]] = []  # (layer, input, output) in forward order
    rows: list[TraceRow] = []
    last_grad: dict[int, NDArray[np.floating]] = {}
    value_names: dict[int, str] = {}
    call_of_backward: dict[int, list[tuple[Module, Any, Any]]] = {}

    def on_forward(layer: Module, inputs: tuple[Any, ...], output: Any) -> None:
        calls.append((layer, inputs[0] if inputs else None, output))

    def on_backward(layer: Module, grad_output: Any, grad_input: Any) -> None:
        path = paths[id(layer)]
        params, symbols = [], {}
        for name, p in layer.named_parameters():
            before = last_grad.get(id(p), np.zeros_like(p.grad))
            full_name = f"{path}.{name}" if path else name
            symbol = (param_names or {}).get(full_name)
            params.append(ParamGrad(full_name, p.grad - before, symbol))
            last_grad[id(p)] = p.grad.copy()
            letter = {attribute: letter for letter, attribute in layer.parameter_symbols.items()}.get(name)
            if symbol and letter:
                symbols[letter] = symbol
        stack = call_of_backward.get(id(layer))
        call = stack.pop() if stack else None  # backward meets a layer's calls in reverse order
        output_name = input_name = None
        if call is not None:
            output_name, input_name = value_names.get(id(call[2])), value_names.get(id(call[1]))
        if output_name and input_name:
            formula = _formula(layer, {"x": input_name, "y": output_name, "g": f"∂L/∂{output_name}", **symbols})
        else:
            formula = _formula(layer, symbols)
        rows.append(
            TraceRow(
                len(rows) + 1,
                path or "0",
                short_repr(layer),
                layer.local_derivative,
                formula,
                np.array(grad_output, copy=True),
                None if grad_input is None else np.array(grad_input, copy=True),  # None: indices have no gradient
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
        with preserved(model):
            model.zero_grad()
            pred = model(X)
            loss = scalar_loss(loss_fn, pred, Y)
            if names is not None:
                names = list(names)
                if len(names) != len(calls) + 1:
                    raise ValueError(
                        f"explain: names must name the input and the output of each of the {len(calls)} layer calls "
                        f"({len(calls) + 1} names), got {len(names)}"
                    )
                value_names[id(X)] = names[0]
                if calls:  # the input as the first layer received it (a list or integers are converted)
                    value_names[id(calls[0][1])] = names[0]
                for (_, _, output), name in zip(calls, names[1:], strict=True):
                    value_names[id(output)] = name
            for call in calls:
                call_of_backward.setdefault(id(call[0]), []).append(call)
            g = loss_fn.backward()
            pred_name = value_names.get(id(pred))
            rows.append(
                TraceRow(
                    1,
                    "loss",
                    repr(loss_fn),
                    loss_fn.local_derivative,
                    _formula(loss_fn, {}),
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
    for before, row in itertools.pairwise(rows):
        passed = before.grad_input
        row.joined = passed is None or not (
            np.shape(passed) == np.shape(row.grad_output) and np.array_equal(passed, row.grad_output)
        )
    return Trace(loss, rows)
