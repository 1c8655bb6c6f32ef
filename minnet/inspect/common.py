"""What the diagnostics share: the leaves of a model, one recorded pass, short names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..nn.loss import Loss
from ..nn.module import Module, held_items
from ..nn.snapshot import preserved
from ..parameter import Parameter


def named_leaves(model: Module) -> list[tuple[str, Module]]:
    """The modules without children, in walk order; ``[("", model)]`` for a model that is one layer."""
    return [(path, module) for path, module in model.named_layers() if next(module.children(), None) is None]


def record_outputs(model: Module, x: Any, layers: Sequence[Module]) -> dict[int, Any]:
    """Run ``model(x)`` once in eval mode, leaving no trace (see
    :func:`~minnet.nn.snapshot.preserved`), and return the output of each of
    ``layers``, keyed by ``id(layer)``."""
    outputs: dict[int, Any] = {}

    def record(layer: Module, inputs: tuple[Any, ...], output: Any) -> None:
        outputs[id(layer)] = output

    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        with preserved(model, mode=False):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def label(path: str, layer: Module) -> str:
    return f"{path} {type(layer).__name__}" if path else type(layer).__name__


def short_repr(layer: Module) -> str:
    """``Linear(in_features=3, ...)`` without the children: a container's one line."""
    return f"{type(layer).__name__}({layer.extra_repr()})"


def own_parameters(layer: Module) -> list[Parameter]:
    """The Parameters a layer holds itself, not through a child."""
    return [item for _, item in held_items(layer) if isinstance(item, Parameter)]


def cached_arrays(layer: Module) -> list[tuple[str, NDArray[Any]]]:
    """The array attributes a layer holds that are neither parameters nor buffers:
    what its forward cached for its backward."""
    buffers = set(layer.buffer_names)
    return [
        (name, value) for name, value in vars(layer).items() if isinstance(value, np.ndarray) and name not in buffers
    ]


def scalar_loss(loss_fn: Loss, pred: Any, Y: Any) -> float:
    value = loss_fn(pred, Y)
    if np.ndim(value) != 0:
        raise ValueError(
            f"{type(loss_fn).__name__}: the pass needs a loss reduced to one number "
            f"(reduction 'mean' or 'sum'), got reduction={getattr(loss_fn, 'reduction', None)!r}"
        )
    return float(value)
