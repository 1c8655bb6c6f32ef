"""``summarize`` (``model.summary(input_shape)``): the layers, their output shapes, parameter counts and caches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn.module import Module
from .common import cached_arrays, own_parameters, record_outputs, short_repr
from .tables import _format_bytes, _table


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


def _shape(output: Any) -> Any:
    """An output's shape; for several outputs (an LSTM's ``(output, (h_n, c_n))``) their shapes, nested alike."""
    if isinstance(output, tuple):
        return tuple(_shape(item) for item in output)
    return None if output is None else tuple(np.shape(output))


def summarize(model: Module, input_shape: Sequence[int]) -> Summary:
    """Run one forward pass on a batch of ``input_shape`` and describe each layer.

    The batch is standard normal (seed 0), in the dtype of the model's first
    parameter (float64 without parameters); for a model that holds a layer
    of integer input (an embedding), integer indices below the smallest
    ``num_embeddings``. The pass runs in eval mode and
    leaves no trace: parameters, gradients, buffers, random generators and
    modes are as they were (see :func:`~minnet.nn.snapshot.preserved`).
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
    rows_of = [getattr(m, "num_embeddings", 1) for _, m in model.named_layers() if m.input_kind == "integer"]
    if rows_of:  # a model of integer input (an embedding's indices): indices every such layer holds
        x = np.random.default_rng(0).integers(0, min(rows_of), input_shape)
    else:
        x = np.random.default_rng(0).standard_normal(input_shape).astype(dtype)
    places = list(model.walk())
    outputs = record_outputs(model, x, [place.module for place in places])
    shapes = {key: _shape(output) for key, output in outputs.items()}

    rows: list[SummaryRow] = []
    seen: set[int] = set()
    cache_bytes = 0
    described = [(place.path, place.module, place.depth - 1) for place in places[1:]]
    for path, layer, depth in described or [("0", model, 0)]:  # a model that is one layer: one row
        own = [p for p in own_parameters(layer) if id(p) not in seen]
        seen.update(id(p) for p in own)
        caches = [(name, a.shape, a.nbytes) for name, a in cached_arrays(layer)]
        cache_bytes += sum(nbytes for _, _, nbytes in caches)
        rows.append(SummaryRow(path, short_repr(layer), depth, shapes.get(id(layer)), sum(p.size for p in own), caches))
    params = list(model.parameters())
    return Summary(
        model=type(model).__name__,
        input_shape=input_shape,
        rows=rows,
        total_params=sum(p.data.size for p in params),
        param_bytes=sum(p.data.nbytes for p in params),
        cache_bytes=cache_bytes,
    )
