"""``explain``: one forward and backward pass, one row per chain-rule step, from the loss to the input."""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import describe
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
    (``W``, ``W_hh``) are replaced where they stand as whole symbols, not inside a word."""
    if not names:
        return text
    symbols = "|".join(re.escape(symbol) for symbol in sorted(names, key=len, reverse=True))  # W_hh before W
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + symbols + r")(?![A-Za-z0-9\u0300-\u036f])")
    return pattern.sub(lambda m: names[m.group(1)], text)


#: A gradient as a layer's ``backward`` got or returned it: one array, ``None`` (zero, or no gradient), or a
#: tuple of them in the nesting of the layer's outputs or inputs (an LSTM's ``(∂L/∂output, (∂L/∂h_n, ∂L/∂c_n))``).
Gradient: TypeAlias = NDArray[np.floating] | tuple["Gradient", ...] | None
#: A name given to :func:`explain` for a value: a string, or for a tuple of arrays a tuple of names in its nesting.
NameSpec: TypeAlias = str | tuple["NameSpec", ...] | None


def _copy(grad: Any) -> Any:
    """A copy of a gradient, tuples copied element by element."""
    if isinstance(grad, (tuple, list)):
        return tuple(_copy(part) for part in grad)
    return None if grad is None else np.array(grad, copy=True)


def _align(grad: Any, value: Any, index: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Any, Any]]:
    """``(index, array, its gradient)`` for each array of ``value`` (an array or a nested tuple), with the gradient
    read from ``grad`` by the contract of layers with several inputs or outputs: a tuple in the same nesting
    (``None`` or a missing trailing element: none), or one array for a tuple = the first element's gradient."""
    if not isinstance(value, (tuple, list)):
        yield index, value, grad
        return
    if isinstance(grad, (tuple, list)):
        parts = list(grad) + [None] * (len(value) - len(grad))
    else:
        parts = [grad] + [None] * (len(value) - 1)  # one array (or None): the first element's gradient
    for i, (part, item) in enumerate(zip(parts, value, strict=False)):
        yield from _align(part, item, (*index, i))


def _shapes(grad: Any) -> Any:
    """The shape of a gradient, or for a tuple the shapes in its nesting (``None`` for a ``None`` element)."""
    if isinstance(grad, (tuple, list)):
        return tuple(_shapes(part) for part in grad)
    return None if grad is None else tuple(np.shape(grad))


def _total_norm(grad: Any) -> float:
    """The norm of all the arrays of a gradient together, √(Σ ‖g_i‖²); nan when it holds none."""
    if isinstance(grad, (tuple, list)):
        norms = [_total_norm(part) for part in grad if part is not None]
        norms = [n for n in norms if not np.isnan(n)]
        return float(np.sqrt(sum(n * n for n in norms))) if norms else float("nan")
    return float("nan") if grad is None else _norm(grad)


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
class ValueGrad:
    """The gradient of one array a layer took or returned, in a :class:`TraceRow`.

    Attributes:
        name: the array's name (see :func:`explain`'s ``names``), ``None`` without one.
        grad: the gradient, ``None`` when none arrived (zero: nothing downstream read that output) or
            none was passed on (integer indices, or an input the layer gives no gradient).
        index: where the array sits in the layer's outputs or positional inputs: ``(1,)`` for the state of
            ``forward(x, h)``, ``(1, 0)`` for h_n in an LSTM's ``(output, (h_n, c_n))``; ``()`` for the one
            array of a layer with one input or one output.
        value_shape: the shape of the array itself (also when ``grad`` is ``None``).
    """

    name: str | None
    grad: NDArray[np.floating] | None
    index: tuple[int, ...] = ()
    value_shape: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        """The gradient's shape: the array's."""
        return self.value_shape if self.grad is None else tuple(np.shape(self.grad))

    @property
    def norm(self) -> float:
        """‖grad‖, nan when ``grad`` is ``None``."""
        return float("nan") if self.grad is None else _norm(self.grad)

    def describe(self) -> str:
        """``"∂L/∂h2 (2, 4)"`` with a name, ``"(2, 4)"`` without."""
        return f"∂L/∂{self.name} {self.shape}" if self.name else str(self.shape)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "shape": self.shape, "norm": self.norm}


@dataclass
class TraceRow:
    """One chain-rule step: the layer turned ``grad_output`` = ∂L/∂(its output)
    into ``grad_input`` = ∂L/∂(its input) by applying ``local_derivative``, and
    added ``params``' gradients. For the loss row, ``grad_output`` is ∂L/∂L = 1.

    A layer with several inputs or outputs (a recurrent cell's ``forward(x, h)``,
    an LSTM's ``(output, (h_n, c_n))``) has ``grad_output`` and ``grad_input`` as
    its ``backward`` got and returned them: tuples in the nesting of its outputs
    and positional inputs (see "Layers with several inputs or outputs" in
    docs/custom-layer.md). ``grad_outputs`` and ``grad_inputs`` list the same
    gradients one array at a time, each with its name, its place and its shape.

    Attributes:
        step: 1 for the loss, then 2, 3, ... in the order backward ran.
        name: the layer's dotted path in the model (``"loss"`` for the loss).
        layer: the layer's repr.
        local_derivative: the layer's ``local_derivative`` table, ``None`` when
            its class sets none.
        formula: the text shown: the formulas of the table that apply to the
            layer (:meth:`~minnet.nn.module.Module.local_derivatives`), each
            ``"lhs = formula"``, joined by ``";  "`` and written with the names
            given to :func:`explain` (x → the first input's name, y → the output's,
            g → ∂L/∂output; y and g only for a layer that returns one array),
            or a note that the layer gives no formula.
        grad_output: the gradient that arrived, ∂L/∂output: an array, or for a
            layer that returns a tuple what its backward got (a tuple, ``None``
            for an output nothing read, or one array for the first output).
        grad_input: the gradient passed on, ∂L/∂input: an array, ``None`` for
            integer indices, or ``(∂L/∂x, ∂L/∂state)`` for a layer called with
            several inputs.
        params: the gradient each parameter received in this step (a weight
            shared by several layers: what this step added).
        output_name, input_name: the names of the layer's (first) output and
            (first) input (``None`` without names).
        joined: ``True`` when a gradient that arrived is not one the previous
            row passed on: a container combined it with another path (e.g. a
            Residual adds the skip connection's gradient).
        grad_outputs: the gradients that arrived, one :class:`ValueGrad` per
            output array, in the output's nesting flattened (a ``None``
            gradient: that output was not read).
        grad_inputs: the gradients passed on, one :class:`ValueGrad` per input
            array, in the order of the positional inputs.
    """

    step: int
    name: str
    layer: str
    local_derivative: Derivatives | None
    formula: str
    grad_output: Gradient
    grad_input: Gradient
    params: list[ParamGrad] = field(default_factory=list)
    output_name: str | None = None
    input_name: str | None = None
    joined: bool = False
    grad_outputs: list[ValueGrad] = field(default_factory=list)
    grad_inputs: list[ValueGrad] = field(default_factory=list)

    @property
    def documented(self) -> bool:
        """Whether the layer's class states its local derivative."""
        return self.local_derivative is not None

    @property
    def grad_output_shape(self) -> Any:
        """The shape of ``grad_output``; for a tuple, the tuple of the shapes in its nesting (``None`` for a
        ``None`` element), e.g. ``(None, ((1, 2, 4), None))``."""
        return _shapes(self.grad_output)

    @property
    def grad_input_shape(self) -> Any:
        """The shape of ``grad_input`` (``()`` when it is ``None``); for a tuple, the tuple of the shapes in its
        nesting, e.g. ``((2, 3), (2, 4))`` for ``(∂L/∂x, ∂L/∂h)``."""
        return () if self.grad_input is None else _shapes(self.grad_input)

    @property
    def grad_output_norm(self) -> float:
        """‖grad_output‖; for a tuple, the norm of all its arrays together, √(Σ ‖g_i‖²)."""
        return _total_norm(self.grad_output)

    @property
    def grad_input_norm(self) -> float:
        """‖grad_input‖ (nan when it is ``None``); for a tuple, the norm of all its arrays together,
        √(Σ ‖g_i‖²). Each one's norm is in ``grad_inputs``."""
        return _total_norm(self.grad_input)

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (shapes and norms, no arrays). ``grad_output_shape`` and ``grad_input_shape``
        are nested tuples for a layer with several outputs or inputs, the norms those of all its arrays
        together; ``grad_outputs`` and ``grad_inputs`` give each array's name, index, shape and norm."""
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
            "grad_outputs": [value.as_dict() for value in self.grad_outputs],
            "grad_inputs": [value.as_dict() for value in self.grad_inputs],
        }

    @property
    def _several(self) -> bool:
        """Whether the layer took or returned several arrays: its cells list each."""
        return len(self.grad_outputs) > 1 or len(self.grad_inputs) > 1

    def _cells(self) -> list[str | list[str]]:
        """The row's cells for the table: the layer by its path and class (its full repr is in the legend
        below the table), each formula on a line, the gradient that arrived above the one passed on, and each
        parameter's name and shape above its norm, so that the table stays narrow."""

        def grad(name: str | None, shape: tuple[int, ...]) -> str:
            return f"∂L/∂{name} {shape}" if name else str(shape)

        params = [line for p in self.params for line in (f"{p.symbol or p.name} {p.shape}", f"‖·‖={p.norm:.4g}")]
        if self._several:
            arrived = [v.describe() for v in self.grad_outputs if v.grad is not None] or ["none"]
            passed = [v.describe() + ("" if v.grad is not None else " none") for v in self.grad_inputs]
            norms = [f"{v.norm:.4g}" if v.grad is not None else "—" for v in self.grad_inputs]
        else:
            arrived = [grad(self.output_name, self.grad_output_shape)]
            passed_on = self.grad_input is not None  # None: integer indices (an embedding's), which have no gradient
            passed = [grad(self.input_name, self.grad_input_shape) if passed_on else "none (indices)"]
            norms = [f"{self.grad_input_norm:.4g}" if passed_on else "—"]
        if self.joined:
            arrived.append("(+ other paths)")
        return [
            str(self.step),
            self._label(),
            self.formula.split(";  "),
            [*arrived, *(f"→ {item}" for item in passed)],
            [""] * len(arrived) + norms,  # each norm on the line of the gradient it measures
            params or ["—"],
        ]

    def _label(self) -> str:
        """``"loss"`` or ``"2: Linear"``: where the layer sits and its class (:attr:`layer` is its repr)."""
        return "loss" if self.name == "loss" else f"{self.name}: {self.layer.split('(', 1)[0]}"


#: The widest line of ``str(trace)``: it reads in a 100-column terminal and in a docs page without scrolling.
WIDTH = 100
_HEADERS = ["step", "layer", "backward applies", "gradient in → out", "‖out‖", "parameter gradients"]
_WRAPPED = (1, 2, 3, 5)  # the columns whose lines may wrap to make the table fit WIDTH (not step and norm)


def _fit(cells: list[list[str | list[str]]], width: int) -> list[list[str | list[str]]]:
    """The rows with the lines of the widest wrappable columns wrapped at spaces (continuation lines
    indented by two), narrowing one column at a time until the table, two spaces between columns, fits
    ``width``. A column is never narrowed below its header or 12 characters."""
    rows = [[c if isinstance(c, list) else [c] for c in row] for row in cells]
    widths = [max([len(h), *(len(line) for row in rows for line in row[i])]) for i, h in enumerate(_HEADERS)]
    floor = [max(len(h), 12) for h in _HEADERS]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        narrowable = [i for i in _WRAPPED if widths[i] > floor[i]]
        if not narrowable:
            break
        widths[max(narrowable, key=lambda i: widths[i])] -= 1
    wrap = textwrap.TextWrapper(subsequent_indent="  ", break_on_hyphens=False)
    for row in rows:
        for i in _WRAPPED:
            wrap.width = widths[i]
            row[i] = [part for line in row[i] for part in (wrap.wrap(line) if len(line) > widths[i] else [line])]
    return rows  # type: ignore[return-value]


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
        if any(len(row.grad_inputs) > 1 for row in self.rows):
            notes[0] += " (one norm per gradient, in the order listed, where a step passes on several)"
        unnamed = [row.formula for row in self.rows if row.output_name is None and row.name != "loss"]
        if any(re.search(r"(?<![A-Za-z])[gxy](?![A-Za-z])", formula) for formula in unnamed):
            notes.append("g = ∂L/∂(the layer's output), the gradient that arrived; x its input, y its output")
        missing = [row.name for row in self.rows if not row.documented]
        if missing:
            notes.append(f"marked (no local_derivative text on the class): {', '.join(missing)}")
        return "\n".join(notes)

    def _legend(self) -> list[str]:
        """Each layer of the table with its repr, ``"2: Linear(in_features=4, out_features=1, bias=False)"``:
        the table names it only by its path and class."""
        legend = {row._label().split(":")[0]: row.layer for row in self.rows}  # a layer called several times: once
        return [f"{name}: {layer}" for name, layer in legend.items()]

    def __str__(self) -> str:
        """The table, at most :data:`WIDTH` (100) characters wide, the layers' reprs below it.

        The width is fixed rather than read from the terminal, so the same trace prints the same
        everywhere (the docs show it, and tests compare it); a long formula or name wraps inside its cell."""
        table = _table(_HEADERS, _fit([row._cells() for row in self.rows], WIDTH))
        wrap = textwrap.TextWrapper(WIDTH, subsequent_indent="    ", break_on_hyphens=False)
        legend = [part for line in self._legend() for part in wrap.wrap(line)]
        footer = [part for line in self._footer().splitlines() for part in wrap.wrap(line)]
        return "\n".join([table, *legend, *footer])

    def to_html(
        self, path: str | Path, model: Module | None = None, X: ArrayLike | None = None, title: str | None = None
    ) -> Path:
        """Write a page to step through this pass in a browser: one self-contained HTML file (inline CSS,
        script and SVG, the data as JSON; nothing fetched, no server). The network is drawn as SVG (with
        ``model``, its containers, skips and branches; without, the traced layers in forward order), and
        buttons or the arrow keys step forward through the layers, then backward through these rows, each
        step showing the layer, its local derivative (:attr:`TraceRow.formula`), the gradients that
        arrived and were passed on, and the parameter gradients (small arrays in full, larger ones as shape,
        norm and heat map). Given the ``model`` and the ``X`` that :func:`explain` traced, the forward steps
        show each layer's input and output too (one more forward pass, leaving no trace). Returns the
        path. See :mod:`minnet.inspect.html`."""
        from .html import write  # the page's module needs this one

        return write(self, path, model, X, title)

    def to_markdown(self) -> str:
        body = _markdown_table(_HEADERS, [row._cells() for row in self.rows])
        legend = "  \n".join(line.replace("|", "\\|") for line in self._legend())
        return body + "\n\n" + legend + "  \n" + self._footer().replace("\n", "  \n")


def explain(
    model: Layer,
    loss_fn: Loss,
    X: ArrayLike,
    Y: ArrayLike,
    names: Sequence[NameSpec] | None = None,
    param_names: Mapping[str, str] | None = None,
    input_names: Mapping[str, NameSpec] | None = None,
) -> Trace:
    """Run one forward and backward pass and record every chain-rule step.

    The pass runs in the model's current mode and leaves no trace (see
    :func:`~minnet.nn.snapshot.preserved`): parameters, gradients, buffers,
    random generators and modes are as they were afterwards; each parameter's
    gradient from this batch is in the row of the step that added it. One row
    per step in the order backward runs: the loss first (step 1), then each
    layer without children as its ``backward`` returns, down to the input. A layer whose class sets no
    ``local_derivative`` still gets its row, marked as such.

    Layers with several inputs or outputs (a recurrent cell called as
    ``cell(x, h)``, an LSTM returning ``(output, (h_n, c_n))``) get one row per
    call like any other; the row lists each gradient that arrived and each one
    passed on, ``∂L/∂h3 (2, 4) → ∂L/∂x3 (2, 3), ∂L/∂h2 (2, 4)``, with the norm of
    each passed on (see :class:`TraceRow`'s ``grad_inputs``).

    Args:
        model: the network (a layer or a container).
        loss_fn: the loss; ``loss_fn(model(X), Y)`` is the pass traced.
        X: the input batch.
        Y: the target.
        names: optional names of the values along a chain: the input, then
            the output of each layer call in forward order (``len(names)`` is the
            number of layer calls plus one). The derivative texts are then
            written with them: for the derivation's network,
            ``names=("X", "H", "Z", "O", "ŷ")`` turns Sigmoid's
            ``∂L/∂x = g ⊙ y ⊙ (1 − y)`` into ``∂L/∂H = ∂L/∂Z ⊙ Z ⊙ (1 − Z)``. A call that
            returns a tuple is named by a tuple in the same nesting (an LSTM's
            ``("out", ("h_n", "c_n"))``) or by one string, which names its
            first array. Every input array a layer receives that an earlier
            call returned (or that is ``X``) carries that name, the second
            input of ``cell(x, h)`` too.
        param_names: optional symbols of parameters by their dotted name in
            ``model.named_parameters()``, e.g. ``{"0.weight": "W1"}``; the
            layer's formula then writes ``W1`` for its ``W``. A Parameter
            shared by several layers is found under its first name there, or
            under each layer's own (``"cell2.weight_hh"``).
        input_names: optional names of inputs that no call returned (a slice
            ``x[t]`` the model takes of its input), by the dotted path of the
            layer that receives them: ``{"cell1": "x1"}`` names its first input,
            a tuple such as ``("x2", None)`` each positional input (``None``:
            the name found as above).

    Returns:
        a :class:`Trace`.

    Example:
        >>> from minnet.derivation import build_network, make_data
        >>> X, Y = make_data()
        >>> trace = explain(build_network(0), MSELoss(), X, Y, names=("X", "H", "Z", "O", "ŷ"))
        >>> trace[1].formula
        '∂L/∂O = ∂L/∂ŷ ⊙ ŷ ⊙ (1 − ŷ)'
        >>> trace[4].grad_input_shape
        (8, 3)
    """
    if not isinstance(model, Layer):
        raise TypeError(f"explain: model must be a minnet Layer, got {describe(model)}")
    if not callable(loss_fn) or not callable(getattr(loss_fn, "backward", None)):
        raise TypeError(f"explain: loss_fn must be a minnet Loss such as MSELoss(), got {describe(loss_fn)}")
    leaves = named_leaves(model)
    calls: list[tuple[Module, tuple[Any, ...], Any]] = []  # (layer, positional inputs, output) in forward order
    rows: list[TraceRow] = []
    last_grad: dict[int, NDArray[np.floating]] = {}
    value_names: dict[int, str] = {}  # by id of an array: the arrays are kept alive by calls
    call_of_backward: dict[int, list[tuple[Module, tuple[Any, ...], Any]]] = {}
    shared_names = {id(p): name for name, p in model.named_parameters()}  # a shared Parameter: its first name

    def name_value(value: Any, name: NameSpec) -> None:
        if isinstance(value, (tuple, list)):
            if isinstance(name, (tuple, list)):
                for item, part in zip(value, name, strict=False):
                    name_value(item, part)
            elif value:
                name_value(value[0], name)  # one name for a tuple: its first array, "the" output
        elif isinstance(name, str):
            value_names[id(value)] = name

    def on_forward(layer: Module, inputs: tuple[Any, ...], output: Any) -> None:
        calls.append((layer, inputs, output))

    def on_backward(layer: Module, grad_output: Any, grad_input: Any) -> None:
        path = paths[id(layer)]
        params, symbols = [], {}
        for name, p in layer.named_parameters():
            before = last_grad.get(id(p), np.zeros_like(p.grad))
            full_name = f"{path}.{name}" if path else name
            symbol = (param_names or {}).get(full_name) or (param_names or {}).get(shared_names.get(id(p), ""))
            params.append(ParamGrad(full_name, p.grad - before, symbol))
            last_grad[id(p)] = p.grad.copy()
            letter = {attribute: letter for letter, attribute in layer.parameter_symbols.items()}.get(name)
            if symbol and letter:
                symbols[letter] = symbol
        stack = call_of_backward.get(id(layer))
        call = stack.pop() if stack else None  # backward meets a layer's calls in reverse order
        inputs, output = (call[1], call[2]) if call is not None else ((None,), None)
        given = (input_names or {}).get(path or "0")
        own = [n if isinstance(n, str) else None for n in (given if isinstance(given, (tuple, list)) else (given,))]
        arrived = [
            ValueGrad(value_names.get(id(value)) if call else None, _copy(g), index, tuple(np.shape(value)))
            for index, value, g in _align(grad_output, output)
        ]
        one_input = len(inputs) == 1
        passed = [
            ValueGrad(
                (own[index[0]] if index[0] < len(own) and len(index) == 1 else None)
                or (value_names.get(id(value)) if call else None),
                _copy(g),
                index[1:] if one_input else index,
                tuple(np.shape(value)),
            )
            for index, value, g in _align(grad_input if not one_input else (grad_input,), inputs)
        ]
        output_name = arrived[0].name if arrived else None
        input_name = passed[0].name if passed else None
        if output_name and input_name:
            substitutions = {"x": input_name, **symbols}
            if len(arrived) == 1:  # y and g: the one output; a layer with several writes its own symbols
                substitutions.update({"y": output_name, "g": f"∂L/∂{output_name}"})
            formula = _formula(layer, substitutions)
        else:
            formula = _formula(layer, symbols)
        rows.append(
            TraceRow(
                len(rows) + 1,
                path or "0",
                short_repr(layer),
                layer.local_derivative,
                formula,
                _copy(grad_output),
                _copy(grad_input),  # None: indices have no gradient
                params,
                output_name,
                input_name,
                grad_outputs=arrived,
                grad_inputs=passed,
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
                name_value(X, names[0])
                first_input = calls[0][1][0] if calls and calls[0][1] else None
                if first_input is not None and np.shape(first_input) == np.shape(X):
                    # the input as the first layer received it (a list or integers are converted)
                    name_value(first_input, names[0])
                for (_, _, output), name in zip(calls, names[1:], strict=True):
                    name_value(output, name)
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
                    grad_outputs=[ValueGrad("L" if pred_name else None, np.ones(()))],
                    grad_inputs=[ValueGrad(pred_name, np.array(g, copy=True), (), tuple(np.shape(pred)))],
                )
            )
            model.backward(g)
    finally:
        for handle in handles:
            handle.remove()
    for before, row in itertools.pairwise(rows):
        passed = [value.grad for value in before.grad_inputs if value.grad is not None]
        arrived = [value.grad for value in row.grad_outputs if value.grad is not None]
        row.joined = not arrived or not all(any(_same(a, p) for p in passed) for a in arrived)
    return Trace(loss, rows)


def _same(a: NDArray[Any], b: NDArray[Any]) -> bool:
    """The same numbers, whatever the shape (a container may reshape a gradient on its way)."""
    return bool(a.size == b.size and np.array_equal(np.ravel(a), np.ravel(b)))
