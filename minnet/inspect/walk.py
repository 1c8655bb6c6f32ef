"""Walking a model for the diagnostics: its layers, its leaves, and state kept across a diagnostic pass."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..nn.layer import Layer
from ..nn.loss import Loss


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


def _scalar_loss(loss_fn: Loss, pred: Any, Y: Any) -> float:
    value = loss_fn(pred, Y)
    if np.ndim(value) != 0:
        raise ValueError(
            f"{type(loss_fn).__name__}: the pass needs a loss reduced to one number "
            f"(reduction 'mean' or 'sum'), got reduction={getattr(loss_fn, 'reduction', None)!r}"
        )
    return float(value)
