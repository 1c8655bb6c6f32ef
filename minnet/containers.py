"""Containers: layers made of layers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .layer import Layer


def reraise_in_child(error: Exception, container: Layer, index: int | str, child: Layer, phase: str) -> Exception:
    """Return ``error`` re-made with the child's index and class at the front of
    its message (same type where its constructor allows, else RuntimeError)."""
    message = f"in layer {index} ({type(child).__name__}) of {type(container).__name__}, during {phase}: {error}"
    try:
        return type(error)(message)
    except Exception:
        return RuntimeError(message)


class Sequential(Layer):
    r"""A chain of layers: ``y = f_K(… f_2(f_1(x)))``.

    ``forward`` runs the layers in order. ``backward`` is the chain rule: it runs
    them in reverse, each turning ∂L/∂(its output) into ∂L/∂(its input),

        g_K = grad_output,   g_{k-1} = layer_k.backward(g_k),   returns g_0 = ∂L/∂x

    while each layer adds its own parameters' gradients on the way. Sequential
    caches nothing itself: every layer keeps its own cache.

    An error raised inside a child comes back with the child's index and class
    in its message.

    Args:
        *layers: the layers, in forward order.

    Shape:
        whatever the first layer takes to whatever the last one gives.

    Example:
        >>> model = Sequential(Linear(3, 4, bias=False, rng=0), Sigmoid())
        >>> len(model), model[1]
        (2, Sigmoid())
    """

    def __init__(self, *layers: Layer) -> None:
        self.layers: list[Layer] = []
        for layer in layers:
            self.append(layer)

    def forward(self, x: NDArray[Any]) -> NDArray[Any]:
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except Exception as error:
                raise reraise_in_child(error, self, i, layer, "forward") from error
        return x

    def backward(self, grad_output: NDArray[np.floating]) -> NDArray[np.floating]:
        grad = grad_output
        for i in reversed(range(len(self.layers))):
            try:
                grad = self.layers[i].backward(grad)
            except Exception as error:
                raise reraise_in_child(error, self, i, self.layers[i], "backward") from error
        return grad

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def append(self, layer: Layer) -> Sequential:
        """Add a layer at the end; returns the Sequential.

        The same layer object cannot appear twice: its second forward would
        overwrite the cache its first backward needs. To tie weights, give two
        layers the same Parameter instead."""
        index = len(self.layers)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential: layer {index} must be a Layer, got {type(layer).__name__}")
        if any(existing is layer for existing in self.layers):
            raise ValueError(
                f"Sequential: layer {index} ({type(layer).__name__}) is already layer "
                f"{next(i for i, e in enumerate(self.layers) if e is layer)}; one object has one cache, so it "
                "cannot run twice in a chain. Share its Parameter between two layers to tie weights"
            )
        self.layers.append(layer)
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)
